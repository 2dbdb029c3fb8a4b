"""The project team and its tasks: members added and removed (API and chat), an added delivery
person sees the order without money, logs hours and posts progress; tasks reassigned, moved,
deleted (old → new on the timeline); only planners change either, strangers see nothing."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from orderdesk.bot.router import router
from orderdesk.runtime import Runtime
from tests.api_support import ApiClient, add_staff
from tests.api_world import World, build
from tests.chat_world import text


@pytest.fixture
def world(session: Session) -> World:
    w = build(session)
    add_staff(session, "dev2", "delivery", name="冯雪")
    session.commit()
    return w


@pytest.fixture
def api(app: Flask, client: FlaskClient) -> ApiClient:
    return ApiClient(app, client)


def say(rt: Runtime, user: str, typed: str) -> str:
    return str(getattr(router.dispatch(text(user, typed), rt), "content", ""))


def test_added_member_works_on_the_project_without_money(api: ApiClient, world: World) -> None:
    code, no = world.project.code, world.o1.number
    api.login("dev2")
    assert api.get(f"/orders/{no}").status_code == 404
    assert api.post(f"/projects/{code}/timesheets", json={"hours": "2"}).status_code == 404
    assert api.post(f"/projects/{code}/members", json={"userid": "dev2"}).status_code == 404
    api.login("dev1")  # a member, but not a planner
    assert api.post(f"/projects/{code}/members", json={"userid": "dev2"}).status_code == 403
    api.login("pm1")
    res = api.post(f"/projects/{code}/members", json={"userid": "dev2"})
    assert res.status_code == 201 and "dev2" in [m["userid"] for m in res.get_json()["members"]]
    assert api.post(f"/projects/{code}/members", json={"userid": "dev2"}).status_code == 409
    api.login("dev2")
    order = api.get(f"/orders/{no}").get_json()
    assert order["amount"] is None and order["money"] is None
    assert api.post(f"/projects/{code}/timesheets", json={"hours": "2"}).status_code == 201
    progress = api.post(
        f"/orders/{no}/progress", data={"text": "完成联调"}, content_type="multipart/form-data"
    )
    assert progress.status_code == 201
    api.login("pm1")
    assert api.delete(f"/projects/{code}/members/pm1").status_code == 422  # the PM stays
    assert api.delete(f"/projects/{code}/members/dev2").status_code == 204
    bodies = [i["body"] for i in api.get(f"/orders/{no}").get_json()["timeline"]["items"]]
    assert "添加项目成员 冯雪" in bodies and "移除项目成员 冯雪" in bodies
    api.login("dev2")
    assert api.get(f"/orders/{no}").status_code == 404


def test_tasks_reassigned_moved_and_deleted(api: ApiClient, world: World) -> None:
    code = world.project.code
    api.login("pm1")
    task = api.post(
        f"/projects/{code}/tasks",
        json={"title": "数据迁移", "owner_userid": "dev1", "due_date": "2030-12-20"},
    ).get_json()
    path = f"/projects/{code}/tasks/{task['id']}"
    api.login("dev1")  # the owner may move its status, not reassign it
    assert api.patch(path, json={"owner_userid": "dev2"}).status_code == 403
    assert api.patch(path, json={"status": "doing"}).status_code == 200
    assert api.delete(path).status_code == 403
    api.login("pm1")
    res = api.patch(path, json={"owner_userid": "dev2", "due_date": "2030-12-28"})
    assert res.status_code == 200
    assert (res.get_json()["owner"]["userid"], res.get_json()["due_date"]) == ("dev2", "2030-12-28")
    bad = api.patch(path, json={"due_date": "2030-02-30"})
    assert bad.status_code == 422
    items = api.get(f"/orders/{world.o1.number}").get_json()["timeline"]["items"]
    assert any(
        "负责人 dev1名 → 冯雪" in i["body"] and "截止 2030-12-20 → 2030-12-28" in i["body"]
        for i in items
    )
    assert api.delete(path).status_code == 204
    assert api.patch(path, json={"status": "done"}).status_code == 404
    # A task with logged hours stays (the hours point at it).
    other = api.post(f"/projects/{code}/tasks", json={"title": "培训"}).get_json()
    api.post(f"/projects/{code}/timesheets", json={"hours": "1", "task_id": other["id"]})
    assert api.delete(f"/projects/{code}/tasks/{other['id']}").status_code == 409
    api.login("sales3")  # outside: the project does not exist for them
    assert api.delete(f"/projects/{code}/tasks/{other['id']}").status_code == 404


def test_chat_team_and_tasks(rt: Runtime, world: World) -> None:
    no = world.o1.number
    assert say(rt, "pm1", f"成员 {no} 添加 @冯雪").startswith("已将 冯雪 加入项目")
    assert "冯雪" in say(rt, "pm1", f"成员 {no}")
    assert "已是项目" in say(rt, "pm1", f"member {no} add @dev2")
    assert say(rt, "pm1", f"任务 {no} 新增 接口联调 @dev1 2030-12-01").startswith("已新增任务")
    moved = say(rt, "pm1", f"任务 {no} 转给 接口联调 @冯雪 2030-12-05")
    assert moved == "任务「接口联调」:负责人 dev1名 → 冯雪;截止 2030-12-01 → 2030-12-05"
    assert "项目经理" in say(rt, "dev2", f"任务 {no} 删除 接口联调")
    assert say(rt, "pm1", f"任务 {no} 删除 接口联调") == "已删除任务「接口联调」"
    assert "没有任务" in say(rt, "pm1", f"任务 {no} 删除 接口联调")
    assert say(rt, "pm1", f"成员 {no} 移除 @冯雪").startswith("已将 冯雪 移出项目")
    assert "找不到" in say(rt, "sales3", f"成员 {no} 添加 @冯雪")
