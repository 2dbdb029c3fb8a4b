"""GET /orders filters (business line, status, owner, customer, created dates, overdue, q over
custom-field values) and the GET /orders/{no} additions (order type, business line, contract
number, number custom fields as JSON numbers)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.models import BusinessLine
from orderdesk.runtime import Runtime
from tests.api_support import ApiClient
from tests.api_world import World, build

FIELDS = [
    {"key": "site", "label": "实施地点", "type": "string"},
    {"key": "headcount", "label": "人数", "type": "number"},
    {"key": "budget", "label": "预算", "type": "money"},
]


@pytest.fixture
def world(session: Session) -> World:
    w = build(session)
    line = BusinessLine(code="erp", name="ERP 实施")
    session.add(line)
    w.o1.order_type.field_schema = FIELDS
    w.o1.business_line = line
    w.o1.custom_fields = {"site": "杭州滨江", "headcount": "120", "budget": "5000.00"}
    w.o3.custom_fields = {"site": "北京海淀", "headcount": "2.5"}
    session.commit()
    return w


@pytest.fixture
def api(app: Flask, client: FlaskClient) -> ApiClient:
    return ApiClient(app, client)


def numbers(api: ApiClient, query: str) -> set[str]:
    res = api.get(f"/orders?{query}")
    assert res.status_code == 200, res.get_json()
    return {o["number"] for o in res.get_json()["items"]}


def test_q_finds_custom_field_values_within_scope(api: ApiClient, world: World) -> None:
    api.login("gm")
    assert numbers(api, "q=滨江") == {world.o1.number}
    assert numbers(api, "q=海淀") == {world.o3.number}
    assert numbers(api, "q=上海云启") == {world.o1.number, world.o2.number}  # customer still
    api.login("sales3")  # o1 is not theirs
    assert numbers(api, "q=滨江") == set()


def test_business_line_status_owner_customer_filters(api: ApiClient, world: World) -> None:
    api.login("gm")
    assert numbers(api, "business_line=erp") == {world.o1.number}
    assert numbers(api, "business_line=nope") == set()
    assert numbers(api, "owner=sales3") == {world.o3.number}
    assert numbers(api, f"customer={world.c1.id}&status=draft") == {world.o2.number}
    assert numbers(api, "status=in_progress&business_line=erp&q=滨江") == {world.o1.number}


def test_created_date_range_in_company_days(api: ApiClient, world: World, rt: Runtime) -> None:
    today = clock.today(rt.settings.tz)
    api.login("gm")
    everything = {world.o1.number, world.o2.number, world.o3.number}
    assert numbers(api, f"created_from={today}&created_to={today}") == everything
    assert numbers(api, f"created_to={today - timedelta(days=1)}") == set()
    assert numbers(api, f"created_from={today + timedelta(days=1)}") == set()
    res = api.get(f"/orders?created_from={today}&created_to={today - timedelta(days=1)}")
    assert res.status_code == 422
    for bad in ("created_from=2026-02-30", "created_from=yesterday", "overdue=yes"):
        assert api.get(f"/orders?{bad}").status_code == 422, bad


@pytest.mark.parametrize(
    ("userid", "expected"),
    [("gm", {"o1"}), ("fin", {"o1"}), ("sales1", {"o1"}), ("mgr1", {"o1"}), ("pm1", set())],
)
def test_overdue_only_where_the_reader_may_see_money(
    api: ApiClient, world: World, userid: str, expected: set[str]
) -> None:
    # o1's plan: 首付款 due at signing (2026-01-05), unpaid. pm1 sees o1 but not its money.
    by_key = {"o1": world.o1.number}
    api.login(userid)
    assert numbers(api, "overdue=true") == {by_key[k] for k in expected}
    assert world.o1.number in numbers(api, "overdue=false")


def test_detail_has_type_line_contract_and_typed_numbers(api: ApiClient, world: World) -> None:
    api.login("sales1")
    body = api.get(f"/orders/{world.o1.number}").get_json()
    assert body["order_type"] == {"code": "impl", "name": "实施项目"}
    assert body["business_line"] == {"code": "erp", "name": "ERP 实施"}
    assert body["contract_number"] == "HT-2026-001"
    assert body["custom_fields"] == {"site": "杭州滨江", "headcount": 120, "budget": "5000.00"}
    api.login("sales3")
    body = api.get(f"/orders/{world.o3.number}").get_json()
    assert body["business_line"] is None and body["contract_number"] is None
    assert body["custom_fields"]["headcount"] == 2.5
