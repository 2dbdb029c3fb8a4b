"""Role x endpoint x object scope: 2xx when allowed, 403 when the role may not, 404 outside the
data scope (its existence is never revealed)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from orderdesk.models import Activity, Milestone
from tests.api_support import ApiClient
from tests.api_world import World, build, order_data

Call = Callable[[ApiClient, World], TestResponse]

CASES: dict[str, tuple[Call, dict[str, int]]] = {
    "create order": (
        lambda a, w: a.post("/orders", json=order_data(w.c1.name)),
        {"sales1": 201, "mgr1": 201, "gm": 201, "admin": 201, "fin": 403, "pm1": 403, "dev1": 403},
    ),
    "payments of o1": (
        lambda a, w: a.get(f"/orders/{w.o1.number}/payments"),
        {
            "sales1": 200,
            "mgr1": 200,
            "fin": 200,
            "gm": 200,
            "admin": 200,
            "pm1": 403,
            "dev1": 403,  # a project member sees the order, never its money
            "sales2": 404,
            "sales3": 404,
            "mgr2": 404,
        },
    ),
    "receipt on o1": (
        lambda a, w: a.post(f"/orders/{w.o1.number}/receipts", json={"amount": "10.00"}),
        {"fin": 201, "sales1": 403, "mgr1": 403, "gm": 403, "pm1": 403, "dev1": 403, "sales2": 404},
    ),
    "project of o1": (
        lambda a, w: a.get(f"/projects/{w.project.code}"),
        {
            "pm1": 200,
            "dev1": 200,
            "sales1": 200,
            "mgr1": 200,
            "fin": 200,
            "gm": 200,
            "sales2": 404,
            "sales3": 404,
            "mgr2": 404,
        },
    ),
    "timesheet on o1's project": (
        lambda a, w: a.post(f"/projects/{w.project.code}/timesheets", json={"hours": "1"}),
        {"dev1": 201, "pm1": 201, "sales1": 201, "sales3": 404, "mgr2": 404},
    ),
    "customer c1": (
        lambda a, w: a.get(f"/customers/{w.c1.id}"),
        {
            "sales1": 200,
            "sales2": 200,
            "mgr1": 200,
            "fin": 200,
            "gm": 200,
            "pm1": 200,
            "dev1": 200,  # the customer of a project they work on
            "sales3": 404,
            "mgr2": 404,
        },
    ),
    # issue 12c: delivery staff see the orders of projects they work on and report progress.
    "order o1": (
        lambda a, w: a.get(f"/orders/{w.o1.number}"),
        {"dev1": 200, "pm1": 200, "sales1": 200, "sales2": 404, "mgr2": 404},
    ),
    "progress on o1": (
        lambda a, w: a.post(
            f"/orders/{w.o1.number}/progress",
            data={"text": "联调完成"},
            content_type="multipart/form-data",
        ),
        {"dev1": 201, "pm1": 201, "sales3": 404, "mgr2": 404},
    ),
    "progress on o3": (
        lambda a, w: a.post(
            f"/orders/{w.o3.number}/progress",
            data={"text": "进展"},
            content_type="multipart/form-data",
        ),
        {"sales3": 201, "mgr2": 201, "gm": 201, "sales1": 404, "mgr1": 404, "pm1": 404},
    ),
}


def test_role_endpoint_scope_matrix(app: Flask, client: FlaskClient, session: Session) -> None:
    world = build(session)
    api = ApiClient(app, client)
    tokens = {userid: api.login(userid) for userid in world.people}
    failures = []
    for name, (call, expected) in CASES.items():
        for userid, status in expected.items():
            got = call(api.as_(tokens[userid]), world).status_code
            if got != status:
                failures.append(f"{name} as {userid}: expected {status}, got {got}")
    assert not failures, "\n".join(failures)


def test_milestone_acceptance_matrix_and_audit(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    world = build(session)
    api = ApiClient(app, client)
    milestone_id = session.scalar(
        select(Milestone.id).where(Milestone.project_id == world.project.id)
    )
    path = f"/projects/{world.project.code}/milestones/{milestone_id}/accept"
    assert api.as_(api.login("sales3")).post(path).status_code == 404
    assert api.as_(api.login("dev1")).post(path).status_code == 403
    res = api.as_(api.login("pm1")).post(
        path, headers={"User-Agent": "wxwork/4.1"}, environ_base={"REMOTE_ADDR": "198.51.100.9"}
    )
    assert res.status_code == 200
    session.expire_all()
    entry = session.scalar(
        select(Activity).where(Activity.kind == "milestone").order_by(Activity.id.desc())
    )
    assert entry is not None and entry.actor_id == world["pm1"].id
    assert (entry.ip, entry.user_agent) == ("198.51.100.9", "wxwork/4.1")
