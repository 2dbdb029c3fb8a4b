"""Customer master data over the API: create with contacts, duplicate guard (name and
统一社会信用代码), edit with old → new on the timeline, archive, contacts, search by name,
pinyin initials and contact phone, scope (out of scope = not found), bad input 4xx."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orderdesk.models import Activity, Customer
from orderdesk.runtime import Runtime
from tests.api_support import ApiClient
from tests.api_world import World, build

CODE = "91350100M000100Y43"
OTHER_CODE = "91110000802100433B"
NEW = {
    "name": "杭州青禾数字科技有限公司",
    "credit_code": CODE,
    "industry": "软件",
    "contacts": [{"name": "王敏", "phone": "13900001111", "title": "采购经理"}],
}


@pytest.fixture
def world(session: Session) -> World:
    return build(session)


@pytest.fixture
def api(app: Flask, client: FlaskClient) -> ApiClient:
    return ApiClient(app, client)


def created(api: ApiClient, body: dict[str, Any] | None = None) -> dict[str, Any]:
    res = api.post("/customers", json=body or NEW)
    assert res.status_code == 201, res.get_json()
    data: dict[str, Any] = res.get_json()
    return data


def names(res: Any) -> list[str]:
    return [c["name"] for c in res.get_json()["items"]]


def count_customers(session: Session) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count(Customer.id))) or 0)


def test_sales_creates_a_customer_with_contacts_they_then_own(api: ApiClient, world: World) -> None:
    api.login("sales1")
    body = created(api)
    assert body["customer"]["owner"]["userid"] == "sales1"
    assert body["customer"]["credit_code"] == CODE and body["customer"]["archived"] is False
    assert [(c["name"], c["phone"]) for c in body["contacts"]] == [("王敏", "13900001111")]
    assert "新建客户" in body["timeline"]["items"][0]["body"]
    # In scope for the owner's manager and finance; out of scope for other sales.
    cid = body["customer"]["id"]
    for userid, status in (("mgr1", 200), ("fin", 200), ("sales2", 404), ("mgr2", 404)):
        api.login(userid)
        assert api.get(f"/customers/{cid}").status_code == status, userid


@pytest.mark.parametrize(
    "clash",
    [
        {"name": "杭州青禾数字科技有限公司"},
        {"name": " 杭州青禾数字科技有限公司 "},
        {"name": "上海云启科技有限公司"},
        {"name": "另一家公司", "credit_code": CODE.lower()},
    ],
)
def test_duplicates_are_refused_and_change_nothing(
    api: ApiClient, world: World, session: Session, clash: dict[str, Any]
) -> None:
    api.login("sales1")
    created(api)
    before = count_customers(session)
    api.login("sales3")  # even someone who cannot see the first one
    res = api.post("/customers", json=clash)
    assert res.status_code == 409
    error = res.get_json()["error"]
    assert "已" in error["message"] and "sales1" not in error["message"]
    assert count_customers(session) == before


@pytest.mark.parametrize(
    "bad",
    [
        {"name": "X公司", "credit_code": "91350100M000100Y44"},  # wrong check digit
        {"name": "X公司", "credit_code": "91350100M000100Y4"},  # 17 characters
        {"name": "X公司", "credit_code": "91350100M000100I43"},  # I is not in the alphabet
        {"name": "   "},
        {"name": "X公司", "contacts": [{"name": "王敏", "phone": "电话号码"}]},
        {"name": "X公司", "contacts": [{"phone": "13900001111"}]},
        {"name": "X公司", "owner_id": 1},
        {},
    ],
)
def test_bad_input_is_a_422_and_creates_nothing(
    api: ApiClient, world: World, session: Session, bad: dict[str, Any]
) -> None:
    before = count_customers(session)
    api.login("sales1")
    res = api.post("/customers", json=bad)
    assert res.status_code == 422, res.get_json()
    assert res.get_json()["error"]["code"] == "validation_failed"
    assert count_customers(session) == before


def test_roles_without_customers_cannot_create(api: ApiClient, world: World) -> None:
    for userid in ("pm1", "dev1", "fin"):
        api.login(userid)
        assert api.post("/customers", json={"name": "某公司"}).status_code == 403


def test_edit_records_old_and_new_and_keeps_the_duplicate_guard(
    api: ApiClient, world: World
) -> None:
    api.login("sales1")
    cid = world.c1.id
    res = api.patch(f"/customers/{cid}", json={"short_name": "云启科技", "credit_code": CODE})
    assert res.status_code == 200, res.get_json()
    body = res.get_json()
    assert body["customer"]["short_name"] == "云启科技"
    entry = body["timeline"]["items"][0]["body"]
    assert "简称:云启 → 云启科技" in entry and f"统一社会信用代码:空 → {CODE}" in entry
    # Renaming onto another customer's name, or taking its code, is refused.
    api.login("gm")
    assert api.patch(f"/customers/{world.c2.id}", json={"name": world.c1.name}).status_code == 409
    assert api.patch(f"/customers/{world.c2.id}", json={"credit_code": CODE}).status_code == 409
    assert api.patch(f"/customers/{world.c2.id}", json={"credit_code": "123"}).status_code == 422
    ok = api.patch(f"/customers/{world.c2.id}", json={"credit_code": OTHER_CODE})
    assert ok.status_code == 200


def test_edit_scope_not_found_outside_forbidden_for_viewers(
    api: ApiClient, world: World, session: Session
) -> None:
    cid = world.c1.id
    api.login("sales3")  # cannot see c1 at all
    assert api.patch(f"/customers/{cid}", json={"industry": "制造"}).status_code == 404
    assert api.post(f"/customers/{cid}/archive", json={}).status_code == 404
    assert api.post(f"/customers/{cid}/contacts", json={"name": "某人"}).status_code == 404
    assert api.patch("/customers/99999", json={"industry": "制造"}).status_code == 404
    api.login("sales2")  # sees c1 through o2 only: may read, not change
    assert api.get(f"/customers/{cid}").status_code == 200
    assert api.patch(f"/customers/{cid}", json={"industry": "制造"}).status_code == 403
    api.login("mgr1")  # the owner's manager may
    assert api.patch(f"/customers/{cid}", json={"industry": "制造"}).status_code == 200
    session.expire_all()
    assert session.get(Customer, cid).industry == "制造"  # type: ignore[union-attr]


def test_search_by_name_initials_and_contact_phone(api: ApiClient, world: World) -> None:
    api.login("sales1")
    created(api)
    for q in ("青禾", "hzqh", "HZQHSZ", "13900001111", "0000111"):
        assert names(api.get(f"/customers?q={q}")) == [NEW["name"]], q
    assert names(api.get("/customers?q=yq")) == []  # initials match from the start
    # World customers (created before) are found by initials too: SHYQ = 上海云启.
    assert names(api.get("/customers?q=shyq")) == [world.c1.name]
    assert names(api.get("/customers?q=13800000000")) == [world.c1.name]
    # Out of scope: sales3 finds neither by phone nor by initials.
    api.login("sales3")
    assert names(api.get("/customers?q=13900001111")) == []
    assert names(api.get("/customers?q=hzqh")) == []


def test_archive_hides_from_search_and_restore_brings_back(api: ApiClient, world: World) -> None:
    api.login("sales1")
    cid = created(api)["customer"]["id"]
    res = api.post(f"/customers/{cid}/archive", json={})
    assert res.status_code == 200 and res.get_json()["customer"]["archived"] is True
    assert names(api.get("/customers?q=青禾")) == []
    assert names(api.get("/customers?q=青禾&archived=true")) == [NEW["name"]]
    assert api.get(f"/customers/{cid}").status_code == 200  # history stays reachable
    res = api.post(f"/customers/{cid}/archive", json={"archived": False})
    assert res.get_json()["customer"]["archived"] is False
    assert names(api.get("/customers?q=青禾")) == [NEW["name"]]
    timeline = [i["body"] for i in api.get(f"/customers/{cid}").get_json()["timeline"]["items"]]
    assert any("归档客户" in t for t in timeline) and any("恢复客户" in t for t in timeline)


def test_contacts_add_and_edit(api: ApiClient, world: World) -> None:
    api.login("sales1")
    cid = world.c1.id
    res = api.post(f"/customers/{cid}/contacts", json={"name": "刘工", "phone": "021-5555-0000"})
    assert res.status_code == 201
    contact_id = res.get_json()["id"]
    res = api.patch(f"/customers/{cid}/contacts/{contact_id}", json={"title": "IT 主管"})
    assert res.status_code == 200 and res.get_json()["title"] == "IT 主管"
    assert res.get_json()["phone"] == "021-5555-0000"
    bad = api.patch(f"/customers/{cid}/contacts/{contact_id}", json={"phone": "abc"})
    assert bad.status_code == 422
    # A contact id of another customer reads as not found.
    assert api.patch(f"/customers/{world.c2.id}/contacts/{contact_id}", json={}).status_code == 404
    assert names(api.get("/customers?q=5555")) == [world.c1.name]


def test_parallel_creates_of_one_customer_make_one(
    rt: Runtime, app: Flask, world: World, session: Session
) -> None:
    def attempt(_: int) -> int:
        api = ApiClient(app, app.test_client())
        api.login("sales1")
        res = api.post("/customers", json={"name": "并发客户", "credit_code": CODE})
        return int(res.status_code)

    with ThreadPoolExecutor(4) as pool:
        statuses = sorted(pool.map(attempt, range(4)))
    assert statuses == [201, 409, 409, 409]
    session.expire_all()
    made = session.scalars(select(Customer).where(Customer.name == "并发客户")).all()
    assert len(made) == 1
    entries = session.scalar(
        select(func.count(Activity.id)).where(Activity.customer_id == made[0].id)
    )
    assert entries == 1
