"""Access that leaks (issue 10): ids from a request are checked against the caller's scope, the
approved substance of a submitted order is frozen, nobody decides on their own order, money stays
with the readers allowed to see it, and out of scope reads exactly like "does not exist"."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orderdesk.approvals import service as approvals
from orderdesk.core.errors import PermissionDenied, ValidationFailed
from orderdesk.models import ApprovalAction, ChatBinding, Order, OrderType, OutboxMessage
from orderdesk.money.receipts import record_receipt
from orderdesk.orders import service as orders
from orderdesk.orders.bindings import bind_chat
from orderdesk.projects import service as projects
from orderdesk.runtime import Runtime
from tests import approvals_world
from tests.api_support import ApiClient
from tests.api_world import World, build, order_data
from tests.chat_world import Chat


@pytest.fixture
def world(session: Session) -> World:
    return build(session)


@pytest.fixture
def api(app: Flask, client: FlaskClient) -> ApiClient:
    return ApiClient(app, client)


def _count_orders(session: Session) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(Order)) or 0)


def _error(res: Any) -> dict[str, Any]:
    body: dict[str, Any] = res.get_json()["error"]
    return body


# ---------------------------------------------------------------- ids on create and update


def test_create_with_another_salespersons_contract_reads_like_a_wrong_id(
    api: ApiClient, world: World, session: Session
) -> None:
    """sales2 may see customer c1 (through o2) but not o1, whose contract this is."""
    sales2 = api.as_(api.login("sales2"))
    contract_id = world.o1.contract_id
    assert contract_id is not None
    before = _count_orders(session)
    theirs = sales2.post("/orders", json=order_data(world.c1.name, contract_id=contract_id))
    missing = sales2.post("/orders", json=order_data(world.c1.name, contract_id=999_999))
    assert theirs.status_code == missing.status_code == 422
    assert _error(theirs)["fields"] == {"contract": f"找不到合同 {contract_id}"}
    assert _error(missing)["fields"] == {"contract": "找不到合同 999999"}
    by_number = sales2.post("/orders", json=order_data(world.c1.name, contract="HT-2026-001"))
    assert _error(by_number)["fields"] == {"contract": "找不到合同 HT-2026-001"}
    assert _count_orders(session) == before


def test_create_with_another_salespersons_customer_reads_like_a_wrong_id(
    api: ApiClient, world: World, session: Session
) -> None:
    sales3 = api.as_(api.login("sales3"))
    before = _count_orders(session)
    data = order_data(world.c1.name)
    del data["customer"]
    theirs = sales3.post("/orders", json={**data, "customer_id": world.c1.id})
    missing = sales3.post("/orders", json={**data, "customer_id": 999_999})
    assert theirs.status_code == missing.status_code == 422
    assert _error(theirs)["fields"] == {"customer": f"找不到客户 {world.c1.id}"}
    assert _error(missing)["fields"] == {"customer": "找不到客户 999999"}
    by_name = sales3.post("/orders", json=order_data(world.c1.name))
    assert _error(by_name)["fields"] == {"customer": f"找不到客户 {world.c1.name}"}
    assert _count_orders(session) == before


def test_patch_to_another_salespersons_contract_changes_nothing(
    api: ApiClient, world: World, session: Session
) -> None:
    sales2 = api.as_(api.login("sales2"))
    number, version = world.o2.number, world.o2.version
    res = sales2.patch(
        f"/orders/{number}",
        json={"contract_id": world.o1.contract_id},
        headers={"If-Match": f'"{version}"'},
    )
    assert res.status_code == 422
    assert _error(res)["fields"] == {"contract": f"找不到合同 {world.o1.contract_id}"}
    session.expire_all()
    o2 = session.get(Order, world.o2.id)
    assert o2 is not None and (o2.contract_id, o2.version) == (None, version)


def test_a_contract_serves_one_order(world: World, session: Session) -> None:
    """Even for someone who sees everything: the plan belongs to the contract, so a second
    order on it would share (and book to) the first one's balances."""
    with pytest.raises(ValidationFailed) as err:
        orders.create_order(
            session,
            actor=world["gm"],
            data=order_data(world.c1.name, contract="HT-2026-001", owner_userid="sales2"),
        )
    assert err.value.fields == {
        "contract": f"合同 HT-2026-001 已关联订单 {world.o1.number},一份合同只能对应一个订单"
    }


# ---------------------------------------------------------------- after submit


def test_owner_is_frozen_while_approval_runs_and_owners_never_decide(
    world: World, session: Session
) -> None:
    request = approvals.submit(session, actor=world["sales2"], number=world.o2.number)
    session.commit()
    with pytest.raises(ValidationFailed) as err:
        orders.update_order(
            session,
            actor=world["mgr1"],
            number=world.o2.number,
            changes={"owner_userid": "mgr1"},
            expected_version=None,
        )
    assert err.value.fields == {"owner_userid": "审批中不能转交订单"}
    session.rollback()
    # Whatever other route makes the approver the owner, they cannot decide.
    o2 = session.get(Order, world.o2.id)
    assert o2 is not None
    o2.owner_id = world["mgr1"].id
    session.commit()
    with pytest.raises(PermissionDenied, match="不能审批自己负责的订单"):
        approvals.decide(session, actor=world["mgr1"], request_id=request.id, decision="approve")
    session.rollback()
    assert session.scalar(select(func.count()).select_from(ApprovalAction)) == 0


def test_custom_fields_are_frozen_after_submit_unless_marked_editable(
    world: World, session: Session
) -> None:
    otype = session.scalar(select(OrderType).where(OrderType.code == "impl"))
    assert otype is not None
    otype.field_schema = [
        {"key": "site", "label": "实施地点", "type": "string"},
        {"key": "go_live", "label": "上线日期", "type": "date", "editable_in": ["in_progress"]},
    ]
    o2 = session.get(Order, world.o2.id)
    assert o2 is not None
    o2.custom_fields = {"site": "上海"}
    o2.status = "in_progress"
    session.commit()
    with pytest.raises(ValidationFailed) as err:
        orders.update_order(
            session,
            actor=world["sales2"],
            number=o2.number,
            changes={"custom_fields": {"site": "北京"}},
            expected_version=None,
        )
    assert err.value.fields == {"custom_fields.site": "订单执行中,该字段不能修改"}
    session.rollback()
    edited = orders.update_order(
        session,
        actor=world["sales2"],
        number=o2.number,
        changes={"custom_fields": {"site": "上海", "go_live": "2026-09-01"}},
        expected_version=None,
    )
    assert edited.custom_fields == {"site": "上海", "go_live": "2026-09-01"}


# ---------------------------------------------------------------- money in timeline and groups


def test_timeline_shows_amounts_only_to_money_readers(
    api: ApiClient, world: World, session: Session
) -> None:
    record_receipt(session, actor=world["fin"], number=world.o1.number, amount="3500.00")
    session.commit()
    pm_view = api.as_(api.login("pm1")).get(f"/orders/{world.o1.number}").get_json()
    fin_view = api.as_(api.login("fin")).get(f"/orders/{world.o1.number}").get_json()
    pm_bodies = [i["body"] for i in pm_view["timeline"]["items"]]
    fin_bodies = [i["body"] for i in fin_view["timeline"]["items"]]
    assert any("¥3,500.00" in b for b in fin_bodies)
    assert any("10000.00" in b for b in fin_bodies)  # the plan and creation figures
    assert any(b.startswith("登记回款(") for b in pm_bodies)
    leaked = [b for b in pm_bodies if "3,500" in b or "10000" in b or "¥" in b or "元" in b]
    assert leaked == []
    assert len(pm_bodies) == len(fin_bodies)  # the entries are there, without the figures


def test_project_group_hears_of_a_receipt_without_the_figure(
    world: World, session: Session
) -> None:
    session.add(
        ChatBinding(
            kind="appchat", chat_id="prj-o1", project_id=world.project.id, audience="internal"
        )
    )
    session.commit()
    record_receipt(session, actor=world["fin"], number=world.o1.number, amount="3000.00")
    session.commit()
    note = session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == "prj-o1")).one()
    text = str(note.payload)
    assert f"订单 {world.o1.number} 收到一笔回款" in text and "首付款已结清" in text
    assert "3,000" not in text and "¥" not in text


# ---------------------------------------------------------------- re-binding a group


def test_rebinding_a_group_needs_the_bound_orders_owner_or_manager(
    world: World, session: Session
) -> None:
    bind_chat(session, actor=world["sales1"], chat_id="grp-1", ref=world.o1.number)
    session.commit()
    with pytest.raises(PermissionDenied):
        bind_chat(session, actor=world["sales2"], chat_id="grp-1", ref=world.o2.number)
    session.rollback()
    binding = session.scalar(select(ChatBinding).where(ChatBinding.chat_id == "grp-1"))
    assert binding is not None and binding.order_id == world.o1.id
    # the same binding again changes nothing and is fine; the owner's manager may re-point it
    bind_chat(session, actor=world["sales1"], chat_id="grp-1", ref=world.o1.number)
    bind_chat(session, actor=world["mgr1"], chat_id="grp-1", ref=world.o2.number)
    session.commit()
    assert binding.order_id == world.o2.id


# ---------------------------------------------------------------- existence leaks


def test_approve_out_of_scope_reads_like_a_missing_request(
    api: ApiClient, world: World, session: Session
) -> None:
    request = approvals.submit(session, actor=world["sales2"], number=world.o2.number)
    session.commit()
    sales3 = api.as_(api.login("sales3"))
    theirs = sales3.post(f"/approvals/{request.id}/approve", json={})
    missing = sales3.post("/approvals/999999/approve", json={})
    assert theirs.status_code == missing.status_code == 404
    assert _error(theirs) == _error(missing)
    assert world.o2.number not in str(theirs.get_json())


@pytest.fixture
def chat(rt: Runtime, client: FlaskClient) -> Chat:
    return Chat(client, rt)


def test_card_click_and_hours_out_of_scope_read_like_missing_ones(rt: Runtime, chat: Chat) -> None:
    with rt.db.transaction() as s:
        w = approvals_world.build(s)
        order = approvals_world.make_order(s, w, amount="10000.00")
        request_id = approvals.submit(s, actor=w["sales1"], number=order.number).id
        project = projects.create_from_order(s, order)
        number, code = order.number, project.code
    # sales2 neither owns, approves nor manages SO-2026-0001
    theirs = chat.click("sales2", f"reject:{request_id}")
    missing = chat.click("sales2", "reject:999999")
    assert (theirs.kind, theirs.text) == (missing.kind, missing.text)
    assert number not in theirs.text
    typed = chat.app("sales2", f"工时 {number} 1")
    unknown = chat.app("sales2", "工时 SO-2099-9999 1")
    assert typed.text == unknown.text.replace("SO-2099-9999", number)
    assert code not in typed.text
