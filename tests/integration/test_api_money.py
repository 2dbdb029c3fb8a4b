"""Money over the API: payments of an order, receipts (finance only), overdue list."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from orderdesk.core import clock
from tests.api_support import ApiClient
from tests.api_world import World, build


@pytest.fixture
def world(session: Session) -> World:
    return build(session)


@pytest.fixture
def api(app: Flask, client: FlaskClient) -> ApiClient:
    return ApiClient(app, client)


def test_payments_receipt_and_overdue(api: ApiClient, world: World) -> None:
    number = world.o1.number
    sales, fin = api.as_(api.login("sales1")), api.as_(api.login("fin"))
    body = sales.get(f"/orders/{number}/payments").get_json()
    plan = body["plan"]
    assert plan["total"] == "10000.00"
    assert [i["amount"] for i in plan["installments"]] == ["3000.00", "7000.00"]
    assert body["receipts"] == [] and body["summary"]["outstanding"] == "10000.00"

    # Only finance records money; the amount is a decimal string, never a float.
    res = sales.post(f"/orders/{number}/receipts", json={"amount": "3000.00"})
    assert res.status_code == 403
    assert fin.post(f"/orders/{number}/receipts", json={"amount": 3000}).status_code == 422
    res = fin.post(f"/orders/{number}/receipts", json={"amount": "3500.00", "note": "网银"})
    assert res.status_code == 201, res.get_json()
    result = res.get_json()
    assert result["receipt"]["amount"] == "3500.00"
    assert [a["amount"] for a in result["allocations"]] == ["3000.00", "500.00"]
    assert result["summary"]["received"] == "3500.00"

    body = fin.get(f"/orders/{number}/payments").get_json()
    assert body["receipts"][0]["allocated"] == "3500.00"
    assert body["plan"]["installments"][0]["status"] == "paid"
    assert body["summary"]["outstanding"] == "6500.00"

    res = fin.post(
        f"/orders/{number}/receipts", json={"amount": "1.00", "received_on": "2999-01-01"}
    )
    assert res.status_code == 422 and "received_on" in res.get_json()["error"]["fields"]


def test_overdue_grouped_by_customer_within_scope(api: ApiClient, world: World) -> None:
    # The plan's second installment falls due 30 days after signing (2026-02-04).
    with clock.frozen(datetime(2026, 6, 1, 2, 0, tzinfo=UTC)):
        fin = api.as_(api.login("fin"))
        body = fin.get("/overdue").get_json()
        assert body["customers"][0]["customer"]["name"] == world.c1.name
        assert body["total"] == body["customers"][0]["total"]
        assert body["customers"][0]["items"][0]["order_number"] == world.o1.number
        assert body["customers"][0]["items"][0]["days_overdue"] > 0
        outsider = api.as_(api.login("sales3"))
        assert outsider.get("/overdue").get_json() == {"customers": [], "total": "0.00"}
