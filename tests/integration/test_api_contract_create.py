"""POST /contracts: a contract with terms, business line, invoicing policy and buyer details;
bad input is refused and creates nothing; scope reads as not found; the opportunity must be
the customer's; the invoice defaults to the contract's buyer details."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orderdesk.models import BusinessLine, Contract
from orderdesk.money.plans import parse_terms
from tests.api_support import ApiClient
from tests.api_world import World, build

TERMS = [
    {"name": "预付款", "amount": "20000.00", "trigger": "on_signing", "days": 5},
    {"name": "上线款", "percent": "50", "trigger": "after_event", "event": "delivered", "days": 10},
    {"name": "验收款", "percent": "50", "trigger": "on_milestone", "milestone": "验收", "days": 15},
]
TAX_ID = "91330100MA2KXXXX1X"


@pytest.fixture
def world(session: Session) -> World:
    w = build(session)
    session.add(BusinessLine(code="it", name="IT 实施"))
    session.commit()
    return w


@pytest.fixture
def api(app: Flask, client: FlaskClient) -> ApiClient:
    return ApiClient(app, client)


def new_contract(world: World, **extra: Any) -> dict[str, Any]:
    return {
        "customer_id": world.c1.id,
        "title": "数据平台实施合同",
        "amount": "120000",
        "business_line": "it",
        "payment_terms": TERMS,
        "invoicing_policy": "先票后款",
        "buyer_name": "上海云启科技有限公司(开票)",
        "buyer_tax_id": TAX_ID,
        **extra,
    }


def count(session: Session) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count(Contract.id))) or 0)


def test_create_signed_contract_with_terms_and_invoicing(api: ApiClient, world: World) -> None:
    api.login("sales1")
    res = api.post("/contracts", json=new_contract(world, signed_date="2026-11-20"))
    assert res.status_code == 201, res.get_json()
    body = res.get_json()
    assert body["number"].startswith("HT-") and body["status"] == "signed"
    assert body["business_line"] == "it"
    assert (body["invoicing_policy"], body["invoicing_policy_zh"]) == ("invoice_first", "先票后款")
    assert (body["buyer_name"], body["buyer_tax_id"]) == ("上海云启科技有限公司(开票)", TAX_ID)
    assert body["amount"] == "120000.00" and body["payment_terms"] == TERMS
    again = api.get(f"/contracts/{body['id']}").get_json()
    assert again == body
    timeline = api.get(f"/customers/{world.c1.id}").get_json()["timeline"]["items"]
    assert any(f"新建合同 {body['number']}" in i["body"] for i in timeline)


def test_draft_from_opportunity_defaults(api: ApiClient, world: World) -> None:
    api.login("sales1")
    opp = api.post(
        "/opportunities", json={"customer_id": world.c1.id, "title": "二期", "expected_amount": "9"}
    ).get_json()
    body = {
        "customer_id": world.c1.id,
        "opportunity_id": opp["id"],
        "amount": "9000",
        "payment_terms": [{"name": "全款", "percent": "100", "trigger": "on_signing"}],
    }
    res = api.post("/contracts", json=body)
    assert res.status_code == 201, res.get_json()
    made = res.get_json()
    assert made["status"] == "draft" and made["opportunity_id"] == opp["id"]
    assert made["invoicing_policy"] == "payment_first"
    assert made["buyer_name"] == world.c1.name and made["title"] == world.c1.name
    # Two contracts never share a number.
    other = api.post("/contracts", json=body).get_json()
    assert other["number"] != made["number"]


@pytest.mark.parametrize(
    "change",
    [
        {"payment_terms": [{"name": "全款", "percent": "90", "trigger": "on_signing"}]},
        {"payment_terms": [{"name": "x", "percent": "100", "trigger": "on_milestone"}]},
        {"payment_terms": [{"name": "x", "amount": "1", "percent": "100"}]},
        {"business_line": "nope"},
        {"buyer_tax_id": "123"},
        {"invoicing_policy": "先开票"},
        {"amount": "-5"},
        {"signed_date": "2026-02-30"},
        {"tax_rate": "60%"},
        {"payment_terms": []},
    ],
)
def test_bad_input_is_refused_and_creates_nothing(
    api: ApiClient, world: World, session: Session, change: dict[str, Any]
) -> None:
    before = count(session)
    api.login("sales1")
    res = api.post("/contracts", json=new_contract(world, **change))
    assert res.status_code in (400, 422), res.get_json()
    assert count(session) == before


def test_scope(api: ApiClient, world: World, session: Session) -> None:
    before = count(session)
    api.login("sales3")  # 云启 is not theirs: not found, like a customer that does not exist
    assert api.post("/contracts", json=new_contract(world)).status_code == 404
    assert api.post("/contracts", json=new_contract(world, customer_id=99999)).status_code == 404
    api.login("sales2")  # sees 云启 through an order but does not own it
    assert api.post("/contracts", json=new_contract(world)).status_code == 403
    api.login("sales1")  # another customer's opportunity
    opp = api.as_(api.login("sales3")).post(
        "/opportunities", json={"customer_id": world.c2.id, "title": "星河"}
    )
    api.login("sales1")
    res = api.post("/contracts", json=new_contract(world, opportunity_id=opp.get_json()["id"]))
    assert res.status_code == 404
    api.login("admin")
    res = api.post("/contracts", json=new_contract(world, customer_id=world.c2.id))
    assert res.status_code == 201
    opp_id = opp.get_json()["id"]
    res = api.post("/contracts", json=new_contract(world, opportunity_id=opp_id))
    assert res.status_code == 422  # the opportunity is 星河's, not 云启's
    assert count(session) == before + 1


def test_trigger_spellings_mean_one_thing(api: ApiClient, world: World, session: Session) -> None:
    """ "on_event" (the API's older word) and the Chinese names plan like the canonical codes."""
    api.login("sales1")
    terms = [
        {"name": "上线款", "percent": "40", "trigger": "on_event", "event": "delivered"},
        {"name": "验收款", "percent": "60", "trigger": "里程碑验收后", "milestone": "验收"},
    ]
    res = api.post("/contracts", json=new_contract(world, amount="1000", payment_terms=terms))
    assert res.status_code == 201, res.get_json()
    contract = session.get(Contract, res.get_json()["id"])
    assert contract is not None
    assert [t.trigger for t in parse_terms(contract.payment_terms)] == [
        "after_event",
        "on_milestone",
    ]
