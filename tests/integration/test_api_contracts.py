"""Contracts over the API: a change of terms regenerates the plan keeping the paid installment,
the timeline shows the plan before and after, bad terms change nothing, scope (404 / 403),
money only for money readers, signing a draft."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from orderdesk.money.ledger import check_ledger
from orderdesk.money.receipts import record_receipt
from tests.api_support import ApiClient
from tests.api_world import World, build

NEW_TERMS = [
    {"name": "首付款", "percent": "30", "trigger": "on_signing", "days": 0},
    {"name": "上线款", "percent": "30", "trigger": "on_signing", "days": 60},
    {"name": "尾款", "percent": "40", "trigger": "on_signing", "days": 90},
]


@pytest.fixture
def world(session: Session) -> World:
    w = build(session)
    record_receipt(session, actor=w["fin"], number=w.o1.number, amount=Decimal("3000.00"))
    session.commit()
    return w


@pytest.fixture
def api(app: Flask, client: FlaskClient) -> ApiClient:
    return ApiClient(app, client)


def contract_id(world: World) -> int:
    assert world.o1.contract is not None
    return world.o1.contract.id


def plan_of(body: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(i["name"], i["amount"], i["paid_amount"]) for i in body["installments"]]


def test_change_of_terms_regenerates_keeping_paid_and_shows_before_after(
    api: ApiClient, world: World, session: Session
) -> None:
    cid = contract_id(world)
    api.login("sales1")
    before = api.get(f"/contracts/{cid}").get_json()
    assert plan_of(before) == [("首付款", "3000.00", "3000.00"), ("尾款", "7000.00", "0.00")]
    res = api.patch(f"/contracts/{cid}", json={"amount": "12000", "payment_terms": NEW_TERMS})
    assert res.status_code == 200, res.get_json()
    after = res.get_json()
    # The paid first installment is kept as it was; the rest (9000) follows the new terms.
    assert plan_of(after) == [
        ("首付款", "3000.00", "3000.00"),
        ("上线款", "3857.14", "0.00"),
        ("尾款", "5142.86", "0.00"),
    ]
    timeline = [
        i["body"] for i in api.get(f"/orders/{world.o1.number}").get_json()["timeline"]["items"]
    ]
    timeline += [
        i["body"] for i in api.get(f"/customers/{world.c1.id}").get_json()["timeline"]["items"]
    ]
    assert any("前的付款计划:首付款 3000.00; 尾款 7000.00" in t for t in timeline)
    assert any("重新生成未付部分" in t and "上线款" in t for t in timeline)
    assert check_ledger(session) == []


@pytest.mark.parametrize(
    "body",
    [
        {"payment_terms": [{"name": "全款", "percent": "90", "trigger": "on_signing"}]},
        {"amount": "2000"},  # below the 3000 already paid
        {"amount": "-1"},
        {"signed_date": "2026-02-30"},
    ],
)
def test_bad_changes_are_refused_and_change_nothing(
    api: ApiClient, world: World, body: dict[str, Any]
) -> None:
    cid = contract_id(world)
    api.login("fin")
    before = api.get(f"/contracts/{cid}").get_json()
    res = api.patch(f"/contracts/{cid}", json=body)
    assert res.status_code == 422, res.get_json()
    assert api.get(f"/contracts/{cid}").get_json() == before


def test_scope_and_money(api: ApiClient, world: World) -> None:
    cid = contract_id(world)
    api.login("sales3")  # cannot see 云启
    assert api.get(f"/contracts/{cid}").status_code == 404
    assert api.patch(f"/contracts/{cid}", json={"title": "x"}).status_code == 404
    assert api.get("/contracts/99999").status_code == 404
    api.login("sales2")  # sees 云启 through o2: no money, no changes
    body = api.get(f"/contracts/{cid}").get_json()
    assert body["amount"] is None and body["installments"] is None
    assert body["payment_terms"] is None
    assert api.patch(f"/contracts/{cid}", json={"title": "x"}).status_code == 403
    api.login("mgr1")
    assert api.patch(f"/contracts/{cid}", json={"title": "ERP 实施合同(补充)"}).status_code == 200


def test_won_opportunity_draft_is_signed_once(api: ApiClient, world: World) -> None:
    api.login("sales1")
    opp = api.post(
        "/opportunities",
        json={"customer_id": world.c1.id, "title": "ERP 三期", "expected_amount": "5000"},
    ).get_json()
    won = api.post(f"/opportunities/{opp['id']}/stage", json={"stage": "won"}).get_json()
    found = api.get(f"/customers/{world.c1.id}").get_json()["contracts"]
    [draft] = [c for c in found if c["number"] == won["contract_number"]]
    assert draft["status"] == "draft"
    res = api.post(f"/contracts/{draft['id']}/sign", json={"signed_date": "2026-11-20"})
    assert res.status_code == 200 and res.get_json()["status"] == "signed"
    assert res.get_json()["signed_date"] == "2026-11-20"
    again = api.post(f"/contracts/{draft['id']}/sign", json={"signed_date": "2026-11-21"})
    assert again.status_code == 409
