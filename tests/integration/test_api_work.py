"""Approvals and projects over the API: submit -> pending -> approve/reject, late decisions,
project detail, timesheets, tasks, milestone acceptance, with scope checks."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.models import Milestone, Task, TimeEntry
from tests.api_support import ApiClient
from tests.api_world import World, build


@pytest.fixture
def world(session: Session) -> World:
    return build(session)


@pytest.fixture
def api(app: Flask, client: FlaskClient) -> ApiClient:
    return ApiClient(app, client)


def test_submit_pending_approve_and_late_second_decision(api: ApiClient, world: World) -> None:
    sales, mgr = api.as_(api.login("sales2")), api.as_(api.login("mgr1"))
    number = world.o2.number
    res = sales.post(f"/orders/{number}/submit")
    assert res.status_code == 200, res.get_json()
    body = res.get_json()
    assert body["status"] == "pending_approval"
    request_id = body["approval"]["request_id"]
    assert (
        body["approval"]["status"] == "pending" and "部门经理" in body["approval"]["current_step"]
    )

    # Not an approver: 403; the approver sees it pending.
    assert sales.post(f"/approvals/{request_id}/approve", json={}).status_code == 403
    assert sales.get("/approvals").get_json()["items"] == []
    pending = mgr.get("/approvals?state=pending").get_json()["items"]
    assert [p["request_id"] for p in pending] == [request_id]
    assert pending[0]["order"]["number"] == number

    detail = mgr.get(f"/approvals/{request_id}").get_json()
    assert detail["can_decide"] is True and detail["order"]["number"] == number
    assert detail["steps"][0]["name"] == "部门经理" and detail["actions"] == []
    assert sales.get(f"/approvals/{request_id}").get_json()["can_decide"] is False
    outsider = api.as_(api.login("sales3"))
    assert outsider.get(f"/approvals/{request_id}").status_code == 404

    res = mgr.post(f"/approvals/{request_id}/approve", json={"comment": "同意"})
    assert res.status_code == 200, res.get_json()
    assert res.get_json()["decision"] == "approve"
    assert res.get_json()["order_number"] == number
    late = mgr.post(f"/approvals/{request_id}/approve")
    assert late.status_code == 409
    assert late.get_json()["error"]["code"] == "already_decided"
    assert "已由" in late.get_json()["error"]["message"]
    done = mgr.get("/approvals?state=done").get_json()["items"]
    assert done[0]["state"] == "approved" and done[0]["comment"] == "同意"
    assert mgr.get("/approvals").get_json()["items"] == []
    detail = mgr.get(f"/approvals/{request_id}").get_json()
    assert detail["status"] == "approved" and detail["can_decide"] is False
    assert (
        detail["actions"][0]["decision"] == "approve" and detail["actions"][0]["comment"] == "同意"
    )


def test_reject_needs_a_reason(api: ApiClient, world: World) -> None:
    sales, mgr = api.as_(api.login("sales2")), api.as_(api.login("mgr1"))
    request_id = sales.post(f"/orders/{world.o2.number}/submit").get_json()["approval"][
        "request_id"
    ]
    res = mgr.post(f"/approvals/{request_id}/reject", json={})
    assert res.status_code == 422 and res.get_json()["error"]["fields"] == {"comment": "必填"}
    res = mgr.post(f"/approvals/{request_id}/reject", json={"comment": "价格过低"})
    assert res.status_code == 200 and res.get_json()["request_status"] == "rejected"
    detail = sales.get(f"/orders/{world.o2.number}").get_json()
    assert detail["approval"]["status"] == "rejected"
    assert mgr.post("/approvals/999999/approve").status_code == 404


def test_project_detail_scope(api: ApiClient, world: World) -> None:
    code = world.project.code
    for userid in ("pm1", "dev1", "sales1", "mgr1", "gm"):
        res = api.as_(api.login(userid)).get(f"/projects/{code}")
        assert res.status_code == 200, userid
    body = res.get_json()
    assert body["order_number"] == world.o1.number and body["pm"]["userid"] == "pm1"
    assert body["tasks"][0]["title"] == "需求调研" and body["milestones"][0]["name"] == "验收"
    for userid in ("sales2", "sales3", "mgr2"):
        assert api.as_(api.login(userid)).get(f"/projects/{code}").status_code == 404, userid
    assert api.as_(api.login("pm1")).get("/projects/NOPE-1").status_code == 404


def test_timesheet_task_and_milestone(api: ApiClient, world: World, session: Session) -> None:
    code = world.project.code
    dev = api.as_(api.login("dev1"))
    res = dev.post(f"/projects/{code}/timesheets", json={"hours": "2.5", "note": "调研"})
    assert res.status_code == 201, res.get_json()
    assert res.get_json()["hours"] == "2.50"
    assert dev.post(f"/projects/{code}/timesheets", json={"hours": 2.5}).status_code == 422
    res = dev.post(f"/projects/{code}/timesheets", json={"hours": "25"})
    assert res.status_code == 422 and "hours" in res.get_json()["error"]["fields"]
    outsider = api.as_(api.login("sales3"))
    assert outsider.post(f"/projects/{code}/timesheets", json={"hours": "1"}).status_code == 404
    assert session.scalar(select(TimeEntry.hours)) is not None

    task_id = session.scalar(select(Task.id).where(Task.project_id == world.project.id))
    res = dev.patch(f"/projects/{code}/tasks/{task_id}", json={"status": "done"})
    assert res.status_code == 200 and res.get_json()["status"] == "done"
    assert dev.patch(f"/projects/{code}/tasks/{task_id}", json={"status": "x"}).status_code == 422
    assert (
        outsider.patch(f"/projects/{code}/tasks/{task_id}", json={"status": "todo"}).status_code
        == 404
    )
    assert dev.patch(f"/projects/{code}/tasks/999999", json={"status": "done"}).status_code == 404

    milestone_id = session.scalar(
        select(Milestone.id).where(Milestone.project_id == world.project.id)
    )
    path = f"/projects/{code}/milestones/{milestone_id}/accept"
    assert dev.post(path).status_code == 403
    pm = api.as_(api.login("pm1"))
    res = pm.post(path)
    assert res.status_code == 200 and res.get_json()["status"] == "accepted"
    again = pm.post(path)
    assert again.status_code == 409 and "已由" in again.get_json()["error"]["message"]
    body = pm.get(f"/projects/{code}").get_json()
    assert body["hours_total"] == "2.50" and body["percent_done"] == 100
