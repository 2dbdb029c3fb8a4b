"""Orders over the API: scope (404 outside it), listing with cursors, detail, create, If-Match."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.models import Activity, Order
from orderdesk.runtime import Runtime
from tests.api_support import ApiClient
from tests.api_world import World, build, order_data


@pytest.fixture
def world(session: Session) -> World:
    return build(session)


@pytest.fixture
def api(app: Flask, client: FlaskClient) -> ApiClient:
    return ApiClient(app, client)


def numbers(res: object) -> list[str]:
    return [o["number"] for o in res.get_json()["items"]]  # type: ignore[attr-defined]


# Who sees which of o1 (sales1), o2 (sales2), o3 (sales3).
SCOPE = {
    "sales1": {"o1"},
    "sales2": {"o2"},
    "sales3": {"o3"},
    "mgr1": {"o1", "o2"},
    "mgr2": {"o3"},
    "fin": {"o1", "o2", "o3"},
    "gm": {"o1", "o2", "o3"},
    "admin": {"o1", "o2", "o3"},
    "pm1": {"o1"},
    "dev1": {"o1"},  # owns a task of o1's project (issue 12: members see their orders)
}


def test_order_scope_matrix_list_detail_and_404(api: ApiClient, world: World) -> None:
    by_key = {"o1": world.o1.number, "o2": world.o2.number, "o3": world.o3.number}
    missing = api.as_(api.login("gm")).get("/orders/SO-2099-9999").get_json()
    for userid, visible in SCOPE.items():
        api.login(userid)
        res = api.get("/orders")
        assert res.status_code == 200
        assert set(numbers(res)) == {by_key[k] for k in visible}, userid
        for key, number in by_key.items():
            detail = api.get(f"/orders/{number}")
            if key in visible:
                assert detail.status_code == 200, (userid, key)
                assert detail.get_json()["number"] == number
                continue
            # Out of scope answers exactly like a number that does not exist.
            assert detail.status_code == 404, (userid, key)
            assert detail.get_json()["error"]["code"] == missing["error"]["code"]
            for res in (
                api.get(f"/orders/{number}/payments"),
                api.post(f"/orders/{number}/transition", json={"to": "cancelled", "reason": "x"}),
                api.post(f"/orders/{number}/submit"),
                api.post(f"/orders/{number}/receipts", json={"amount": "1.00"}),
            ):
                assert res.status_code == 404, (userid, key, res.request.path)


def test_detail_has_lines_money_project_timeline_and_etag(api: ApiClient, world: World) -> None:
    api.login("sales1")
    res = api.get(f"/orders/{world.o1.number}")
    body = res.get_json()
    assert res.headers["ETag"] == f'"{body["version"]}"'
    assert body["amount"] == "10000.00"
    assert body["lines"][0]["service_item"] == "consult"
    assert body["lines"][0]["amount"] == "10000.00"
    assert body["project"]["code"] == world.project.code
    assert body["money"]["total"] == "10000.00" and body["money"]["received"] == "0.00"
    assert body["created_at"].endswith("+08:00")
    assert body["timeline"]["items"][0]["kind"]


def test_money_fields_hidden_from_pm_but_visible_to_finance(api: ApiClient, world: World) -> None:
    for member in ("pm1", "dev1"):  # the PM and a delivery engineer of o1's project
        api.login(member)
        body = api.get(f"/orders/{world.o1.number}").get_json()
        assert body["amount"] is None and body["money"] is None, member
        assert all(line["amount"] is None for line in body["lines"])
        res = api.get(f"/orders/{world.o1.number}/payments")
        assert res.status_code == 403 and res.get_json()["error"]["code"] == "forbidden"
    api.login("fin")
    assert api.get(f"/orders/{world.o1.number}").get_json()["amount"] == "10000.00"


def test_list_filters_and_cursor_paging_are_stable(
    api: ApiClient, world: World, session: Session
) -> None:
    api.login("gm")
    seen: list[str] = []
    cursor = None
    while True:
        path = "/orders?limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = api.get(path).get_json()
        seen += [o["number"] for o in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    all_numbers = [o.number for o in session.scalars(select(Order).order_by(Order.id.desc()))]
    assert seen == all_numbers
    assert numbers(api.get("/orders?owner=sales3")) == [world.o3.number]
    assert numbers(api.get(f"/orders?customer={world.c2.id}")) == [world.o3.number]
    assert numbers(api.get("/orders?status=in_progress")) == [world.o1.number]
    assert numbers(api.get("/orders?q=运维")) == [world.o2.number]


BAD_LIST_QUERIES = [
    ("limit=101", "limit"),
    ("limit=0", "limit"),
    ("limit=abc", "limit"),
    ("status=weird", "status"),
    ("cursor=%21%21", "cursor"),
    ("cursor=b3JkOi01", "cursor"),  # well-formed base64 of a negative id
    ("colour=red", "colour"),
]


def test_bad_list_parameters_are_422_with_field(api: ApiClient, world: World) -> None:
    api.login("gm")
    for query, field in BAD_LIST_QUERIES:
        res = api.get(f"/orders?{query}")
        assert res.status_code == 422, query
        assert field in res.get_json()["error"]["fields"], query


def test_create_draft_and_audit_ip_and_user_agent(
    api: ApiClient, world: World, rt: Runtime
) -> None:
    api.login("sales1")
    res = api.post(
        "/orders",
        json=order_data(world.c1.name, title="二期"),
        headers={"User-Agent": "miniprogram/1.0"},
        environ_base={"REMOTE_ADDR": "192.0.2.7"},
    )
    assert res.status_code == 201
    body = res.get_json()
    assert body["status"] == "draft" and body["title"] == "二期"
    assert res.headers["Location"] == f"/api/v1/orders/{body['number']}"
    with rt.db.transaction() as s:
        order = s.scalar(select(Order).where(Order.number == body["number"]))
        assert order is not None
        acts = list(s.scalars(select(Activity).where(Activity.order_id == order.id)))
        assert acts and all(a.ip == "192.0.2.7" for a in acts)
        assert all(a.user_agent == "miniprogram/1.0" for a in acts)
        assert all(a.actor_id == world["sales1"].id for a in acts)


def test_create_validation_is_422_and_changes_nothing(
    api: ApiClient, world: World, session: Session
) -> None:
    api.login("sales1")
    before = session.scalar(select(Order.id).order_by(Order.id.desc()))
    res = api.post("/orders", json={"title": 5, "colour": "red"})
    assert res.status_code == 422
    fields = res.get_json()["error"]["fields"]
    assert fields["colour"] == "不支持的字段" and "title" in fields
    res = api.post("/orders", json=order_data("不存在的客户"))
    assert res.status_code == 422 and res.get_json()["error"]["fields"]
    session.expire_all()
    assert session.scalar(select(Order.id).order_by(Order.id.desc())) == before


def test_create_needs_a_creator_role(api: ApiClient, world: World) -> None:
    api.login("dev1")
    res = api.post("/orders", json=order_data(world.c1.name))
    assert res.status_code == 403 and res.get_json()["error"]["message"]


def test_patch_needs_if_match_and_refuses_stale_versions(api: ApiClient, world: World) -> None:
    api.login("sales2")
    number = world.o2.number
    path = f"/orders/{number}"
    etag = api.get(path).headers["ETag"]
    res = api.patch(path, json={"title": "运维服务二期"})
    assert res.status_code == 428 and res.get_json()["error"]["code"] == "precondition_required"
    ok = api.patch(path, json={"title": "运维服务二期"}, headers={"If-Match": etag})
    assert ok.status_code == 200 and ok.get_json()["title"] == "运维服务二期"
    assert ok.headers["ETag"] != etag
    # A second editor still holding the old version is refused, and nothing changes.
    stale = api.patch(path, json={"title": "覆盖"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert stale.headers["ETag"] == ok.headers["ETag"]
    assert api.get(path).get_json()["title"] == "运维服务二期"
    assert api.patch(path, json={"title": "x"}, headers={"If-Match": "abc"}).status_code == 412


def test_patch_outside_scope_is_404_even_with_if_match(api: ApiClient, world: World) -> None:
    api.login("sales1")
    res = api.patch(f"/orders/{world.o3.number}", json={"title": "x"}, headers={"If-Match": '"1"'})
    assert res.status_code == 404


def test_transition_illegal_is_409_and_legal_moves(api: ApiClient, world: World) -> None:
    api.login("sales1")
    res = api.post(f"/orders/{world.o1.number}/transition", json={"to": "draft"})
    assert res.status_code in (409, 422)
    res = api.post(f"/orders/{world.o1.number}/transition", json={"to": "delivered"})
    assert res.status_code == 200 and res.get_json()["status"] == "delivered"


def test_progress_multipart_with_file(api: ApiClient, world: World, rt: Runtime) -> None:
    import io

    api.login("sales1")
    res = api.post(
        f"/orders/{world.o1.number}/progress",
        data={"text": "完成需求调研", "files": (io.BytesIO(b"%PDF-1.4 minutes"), "纪要.pdf")},
        content_type="multipart/form-data",
    )
    assert res.status_code == 201, res.get_json()
    body = res.get_json()
    assert body["activity"]["kind"] == "progress" and body["activity"]["body"] == "完成需求调研"
    assert body["attachments"][0]["name"].endswith(".pdf")
    res = api.post(
        f"/orders/{world.o1.number}/progress",
        json={"text": "json is not accepted here"},
    )
    assert res.status_code == 415
    res = api.post(
        f"/orders/{world.o3.number}/progress",
        data={"text": "不是我的单"},
        content_type="multipart/form-data",
    )
    assert res.status_code == 404


def test_customers_scope_search_and_detail(api: ApiClient, world: World, session: Session) -> None:
    api.login("sales3")
    res = api.get("/customers?q=云启")
    assert res.status_code == 200 and res.get_json()["items"] == []
    assert api.get(f"/customers/{world.c1.id}").status_code == 404
    body = api.get(f"/customers/{world.c2.id}").get_json()
    assert body["customer"]["name"] == world.c2.name
    assert [o["number"] for o in body["orders"]] == [world.o3.number]
    api.login("mgr1")
    body = api.get(f"/customers/{world.c1.id}").get_json()
    assert {o["number"] for o in body["orders"]} == {world.o1.number, world.o2.number}
    assert body["contacts"][0]["name"] == "陈总"
    # mgr1 does not own the customer: contract amounts are money fields.
    assert body["contracts"][0]["number"] == "HT-2026-001"
    assert body["contracts"][0]["amount"] is None
    api.login("sales2")
    body = api.get(f"/customers/{world.c1.id}").get_json()
    # sales2 sees the customer through o2 only, and none of o1's timeline entries.
    assert [o["number"] for o in body["orders"]] == [world.o2.number]
    o1_entries = set(session.scalars(select(Activity.id).where(Activity.order_id == world.o1.id)))
    shown = {item["id"] for item in body["timeline"]["items"]}
    assert o1_entries and not (o1_entries & shown)
