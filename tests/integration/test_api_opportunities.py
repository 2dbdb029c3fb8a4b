"""Opportunities over the API: stages 线索 → … → 赢单 / 输单 (reason required), won drafts a
contract prefilled from it, the pipeline by stage, scope (out of scope = not found), bad input."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.models import Contract
from orderdesk.money.ledger import check_ledger
from tests.api_support import ApiClient
from tests.api_world import World, build


@pytest.fixture
def world(session: Session) -> World:
    return build(session)


@pytest.fixture
def api(app: Flask, client: FlaskClient) -> ApiClient:
    return ApiClient(app, client)


def new_opp(api: ApiClient, world: World, **extra: Any) -> dict[str, Any]:
    body = {
        "customer_id": world.c1.id,
        "title": "ERP 二期",
        "expected_amount": "300000",
        "expected_close_date": "2026-12-31",
        **extra,
    }
    res = api.post("/opportunities", json=body)
    assert res.status_code == 201, res.get_json()
    data: dict[str, Any] = res.get_json()
    return data


def test_walk_the_stages_to_won_drafts_a_contract(
    api: ApiClient, world: World, session: Session
) -> None:
    api.login("sales1")
    opp = new_opp(api, world)
    assert (opp["stage"], opp["stage_zh"], opp["expected_amount"]) == ("lead", "线索", "300000.00")
    for stage in ("需求确认", "proposal", "商务谈判"):
        res = api.post(f"/opportunities/{opp['id']}/stage", json={"stage": stage})
        assert res.status_code == 200, res.get_json()
    res = api.post(f"/opportunities/{opp['id']}/stage", json={"stage": "赢单"})
    body = res.get_json()
    assert body["stage"] == "won" and body["contract_number"].startswith("HT-")
    contract = session.scalar(select(Contract).where(Contract.number == body["contract_number"]))
    assert contract is not None
    assert (contract.status, contract.customer_id, contract.title) == (
        "draft",
        world.c1.id,
        "ERP 二期",
    )
    assert f"{contract.amount}" == "300000.00"
    # A draft contract has no plan yet: the books stay consistent (`orderdesk check`).
    assert check_ledger(session) == []
    # Closed stays closed.
    again = api.post(f"/opportunities/{opp['id']}/stage", json={"stage": "lead"})
    assert again.status_code == 409
    assert api.patch(f"/opportunities/{opp['id']}", json={"title": "x"}).status_code == 409


def test_lost_needs_a_reason(api: ApiClient, world: World) -> None:
    api.login("sales1")
    opp = new_opp(api, world)
    res = api.post(f"/opportunities/{opp['id']}/stage", json={"stage": "输单"})
    assert res.status_code == 422
    assert api.get(f"/opportunities/{opp['id']}").get_json()["stage"] == "lead"
    res = api.post(
        f"/opportunities/{opp['id']}/stage", json={"stage": "lost", "reason": "预算取消"}
    )
    assert res.get_json()["close_reason"] == "预算取消"
    assert res.get_json()["contract_number"] is None


def test_pipeline_by_stage_and_scope(api: ApiClient, world: World) -> None:
    api.login("sales1")
    a = new_opp(api, world)
    new_opp(api, world, title="运维续约", expected_amount="50000.5", stage="方案报价")
    api.login("sales3")
    theirs = new_opp(api, world, customer_id=world.c2.id, title="数据平台")
    stages = {s["stage"]: s for s in api.get("/opportunities").get_json()["stages"]}
    assert list(stages) == ["lead", "qualified", "proposal", "negotiation", "won", "lost"]
    assert stages["lead"]["count"] == 1 and stages["proposal"]["count"] == 0
    for userid, visible in (
        ("sales1", 2),
        ("mgr1", 2),
        ("mgr2", 1),
        ("fin", 3),
        ("sales2", 0),
        ("pm1", 0),
    ):
        api.login(userid)
        got = api.get("/opportunities").get_json()["stages"]
        assert sum(s["count"] for s in got) == visible, userid
    api.login("gm")
    only = api.get("/opportunities?stage=方案报价").get_json()["stages"]
    assert [(s["stage"], s["count"], s["expected_total"]) for s in only] == [
        ("proposal", 1, "50000.50")
    ]
    # Out of scope reads like missing, for reads and writes.
    api.login("sales1")
    for path in (f"/opportunities/{theirs['id']}", "/opportunities/99999"):
        assert api.get(path).status_code == 404
        assert api.post(f"{path}/stage", json={"stage": "won"}).status_code == 404
    assert api.patch(f"/opportunities/{a['id']}", json={"expected_amount": "1"}).status_code == 200


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"title": "x"}, 422),  # no customer
        ({"customer_id": 1, "title": ""}, 422),
        ({"customer_id": 1, "title": "x", "expected_amount": "-1"}, 422),
        ({"customer_id": 1, "title": "x", "expected_close_date": "2026-02-30"}, 422),
        ({"customer_id": 1, "title": "x", "stage": "won"}, 422),
        ({"customer_id": 1, "title": "x", "stage": "赢了"}, 422),
        ({"customer_id": 1, "title": "x", "business_line": "nope"}, 422),
    ],
)
def test_bad_input(api: ApiClient, world: World, body: dict[str, Any], status: int) -> None:
    api.login("sales1")
    if body.get("customer_id") == 1:
        body = {**body, "customer_id": world.c1.id}
    assert api.post("/opportunities", json=body).status_code == status
    assert sum(s["count"] for s in api.get("/opportunities").get_json()["stages"]) == 0


def test_customer_out_of_scope_is_not_found(api: ApiClient, world: World) -> None:
    api.login("sales1")
    res = api.post("/opportunities", json={"customer_id": world.c2.id, "title": "x"})
    assert res.status_code == 404
    api.login("pm1")
    assert (
        api.post("/opportunities", json={"customer_id": world.c1.id, "title": "x"}).status_code
        == 403
    )
