"""POST /projects/{code}/tasks: the PM adds a task with an owner and a due date; others may not;
out of scope reads like not found; the timeline records it."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.models import Activity, Task
from tests.api_support import ApiClient
from tests.api_world import World, build


@pytest.fixture
def world(session: Session) -> World:
    return build(session)


@pytest.fixture
def api(app: Flask, client: FlaskClient) -> ApiClient:
    return ApiClient(app, client)


def test_pm_adds_a_task_others_cannot(api: ApiClient, world: World, session: Session) -> None:
    code = world.project.code
    pm = api.as_(api.login("pm1"))
    body = {"title": "数据迁移", "owner_userid": "dev1", "due_date": "2026-12-20"}
    res = pm.post(f"/projects/{code}/tasks", json=body)
    assert res.status_code == 201, res.get_json()
    made = res.get_json()
    assert made["title"] == "数据迁移" and made["status"] == "todo"
    assert made["owner"]["userid"] == "dev1" and made["due_date"] == "2026-12-20"
    detail = api.as_(api.login("dev1")).get(f"/projects/{code}").get_json()
    assert "数据迁移" in [t["title"] for t in detail["tasks"]]
    assert session.scalar(
        select(Activity.body).where(Activity.kind == "task", Activity.body.like("新增任务%"))
    ) == ("新增任务「数据迁移」,负责人 dev1名,截止 2026-12-20")

    dev = api.as_(api.login("dev1"))
    assert dev.post(f"/projects/{code}/tasks", json={"title": "x"}).status_code == 403
    outsider = api.as_(api.login("sales3"))
    assert outsider.post(f"/projects/{code}/tasks", json={"title": "x"}).status_code == 404
    bad = pm.post(f"/projects/{code}/tasks", json={"title": "y", "owner_userid": "nobody"})
    assert bad.status_code == 422 and "owner" in bad.get_json()["error"]["fields"]
    assert pm.post(f"/projects/{code}/tasks", json={"title": ""}).status_code == 422
    wrong_day = pm.post(f"/projects/{code}/tasks", json={"title": "z", "due_date": "2026-02-30"})
    assert wrong_day.status_code == 422
    assert session.scalar(select(Task.id).where(Task.title.in_(["x", "y", "z"]))) is None
