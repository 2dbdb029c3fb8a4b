"""Tickets over /api/v1: create, list with filters, detail with timeline, transition, assign,
comment; out of scope reads exactly like a wrong number; refused steps change nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.models import Activity, Ticket
from tests.api_support import ApiClient
from tests.api_world import World, build

CST = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def world(session: Session) -> World:
    return build(session)


@pytest.fixture
def api(app: Flask, client: FlaskClient) -> ApiClient:
    return ApiClient(app, client)


def _create(api: ApiClient, number: str, **extra: str) -> dict[str, object]:
    res = api.post("/tickets", json={"order_number": number, "title": "登录页报错", **extra})
    assert res.status_code == 201, res.get_json()
    body: dict[str, object] = res.get_json()
    return body


def test_ticket_lifecycle_through_the_api(api: ApiClient, world: World, session: Session) -> None:
    sales = api.as_(api.login("sales1"))
    made = _create(sales, world.o1.number, priority="P1", category="bug")
    tk = str(made["number"])
    assert made["assignee"] == {"userid": "pm1", "name": "pm1名"}  # the project's PM
    assert made["status"] == "new" and made["events"][0]["kind"] == "created"  # type: ignore[index]
    _create(sales, world.o1.number, priority="P4")

    pm = api.as_(api.login("pm1"))
    mine = pm.get("/tickets?assignee=me&priority=P1").get_json()["items"]
    assert [t["number"] for t in mine] == [tk]
    assert len(pm.get(f"/tickets?order={world.o1.number}&status=open").get_json()["items"]) == 2
    assert pm.get("/tickets?order=SO-2099-0001").get_json()["items"] == []

    res = pm.post(f"/tickets/{tk}/comments", json={"body": "正在排查"})
    assert res.status_code == 201 and res.get_json()["first_response_at"] is not None
    res = pm.post(f"/tickets/{tk}/assign", json={"assignee": "dev1"})
    assert res.status_code == 200 and res.get_json()["assignee"]["userid"] == "dev1"
    dev = api.as_(api.login("dev1"))
    res = dev.post(f"/tickets/{tk}/transition", json={"to": "resolved"})
    assert res.status_code == 200 and res.get_json()["status"] == "resolved"
    refused = dev.post(f"/tickets/{tk}/transition", json={"to": "waiting_client"})
    assert refused.status_code == 409
    closed = sales.post(f"/tickets/{tk}/transition", json={"to": "closed"})
    assert closed.status_code == 200
    detail = sales.get(f"/tickets/{tk}").get_json()
    assert [e["kind"] for e in detail["events"]] == [
        "created",
        "comment",
        "assigned",
        "status",
        "status",
    ]
    order_lines = session.scalars(
        select(Activity.body).where(Activity.order_id == world.o1.id, Activity.kind == "ticket")
    ).all()
    assert sum(tk in line for line in order_lines) == 5


def test_out_of_scope_is_not_found_and_refusals_change_nothing(
    api: ApiClient, world: World, session: Session
) -> None:
    tk = str(_create(api.as_(api.login("sales1")), world.o1.number)["number"])
    outsider = api.as_(api.login("sales3"))  # another team
    seen = outsider.get(f"/tickets/{tk}")
    missing = outsider.get("/tickets/TK-2099-00001")
    assert seen.status_code == missing.status_code == 404
    assert seen.get_json()["error"]["code"] == missing.get_json()["error"]["code"]
    for path, body in (
        (f"/tickets/{tk}/transition", {"to": "resolved"}),
        (f"/tickets/{tk}/assign", {"assignee": "sales3"}),
        (f"/tickets/{tk}/comments", {"body": "x"}),
    ):
        assert outsider.post(path, json=body).status_code == 404
    assert outsider.get("/tickets").get_json()["items"] == []
    assert (
        outsider.post("/tickets", json={"order_number": world.o1.number, "title": "x"}).status_code
        == 404
    )
    # dev1 sees the order (task owner) but neither handles the ticket nor manages the order
    dev = api.as_(api.login("dev1"))
    assert dev.post(f"/tickets/{tk}/transition", json={"to": "resolved"}).status_code == 403
    bad = api.as_(api.login("sales1")).post(
        "/tickets", json={"order_number": world.o1.number, "title": " ", "priority": "P1"}
    )
    assert bad.status_code == 422
    session.expire_all()
    tickets = session.scalars(select(Ticket)).all()
    assert [(t.status, t.assignee_id, t.first_response_at) for t in tickets] == [
        ("new", world["pm1"].id, None)
    ]


def test_ticket_reports_age_buckets_and_sla_hit_rate(api: ApiClient, world: World) -> None:
    start = datetime(2026, 12, 1, 10, 0, tzinfo=CST)
    with clock.frozen(start) as advance:
        sales, pm = api.as_(api.login("sales1")), api.as_(api.login("pm1"))
        met = str(_create(sales, world.o1.number, priority="P1")["number"])
        late = str(_create(sales, world.o1.number, priority="P1")["number"])
        assert pm.post(f"/tickets/{met}/transition", json={"to": "resolved"}).status_code == 200
        advance(timedelta(days=4))
        sales, pm = api.as_(api.login("sales1")), api.as_(api.login("pm1"))  # a new day's login
        still_open = str(_create(sales, world.o1.number, priority="P3")["number"])
        assert pm.post(f"/tickets/{late}/transition", json={"to": "resolved"}).status_code == 200
        advance(timedelta(days=2))  # the P3 is 2 days old, nothing else is open
        sales = api.as_(api.login("sales1"))
        aging = sales.get("/reports/ticket-aging").get_json()
        sla = sales.get("/reports/ticket-sla?period=2026-12").get_json()
        outsider = api.as_(api.login("sales3")).get("/reports/ticket-sla?period=2026-12")
    assert "rows" in aging, aging
    by_priority = {r["priority"]: r for r in aging["rows"]}
    assert by_priority["P3"]["d1_3"] == 1 and by_priority["P3"]["total"] == 1
    assert aging["totals"]["total"] == 1 and by_priority["P1"]["total"] == 0
    [row] = sla["rows"]
    assert (row["month"], row["tickets"], row["decided"], row["met"], row["breached"]) == (
        "2026-12",
        3,
        2,
        1,
        1,
    )
    assert float(row["hit_rate"]) == 0.5 and still_open
    assert outsider.get_json()["rows"] == []  # another team's tickets are not counted


def test_client_status_page_lists_open_tickets_without_internals(
    api: ApiClient, world: World, client: FlaskClient
) -> None:
    sales = api.as_(api.login("sales1"))
    _create(sales, world.o1.number, assignee="dev1", priority="P1")
    closed = sales.post(
        "/tickets", json={"order_number": world.o1.number, "title": "已修复的问题"}
    ).get_json()["number"]
    assert sales.post(f"/tickets/{closed}/transition", json={"to": "resolved"}).status_code == 200
    url = sales.post(f"/orders/{world.o1.number}/status-links", json={}).get_json()["url"]
    html = client.get(url[url.index("/c/") :]).get_data(as_text=True)
    assert "处理中的售后问题" in html and "登录页报错" in html and "新建" in html
    assert "已修复的问题" not in html  # only open tickets
    assert "dev1名" not in html and "P1" not in html and "TK-" not in html
