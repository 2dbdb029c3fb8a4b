"""The order state machine, table-driven over every pair of states and every kind of actor."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.core.errors import (
    Conflict,
    DomainError,
    IllegalTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from orderdesk.directory.staff import get_active_staff
from orderdesk.models import Activity, Order, OutboxMessage, Project
from orderdesk.models.order import ORDER_STATUSES
from orderdesk.orders import service as orders
from orderdesk.orders.states import TRANSITIONS, apply_status
from orderdesk.runtime import Runtime
from tests.order_world import build_world, force_status, make_order

# Written out independently of the service's table, so a table edit is caught here.
BY_OWNER = {
    ("draft", "cancelled"),
    ("pending_approval", "cancelled"),
    ("approved", "in_progress"),
    ("approved", "cancelled"),
    ("in_progress", "delivered"),
    ("delivered", "accepted"),
    ("accepted", "closed"),
}
MANAGER_ONLY = {
    ("in_progress", "cancelled"),
    ("delivered", "cancelled"),
    ("accepted", "cancelled"),
}
APPROVAL_ONLY = {
    ("draft", "pending_approval"),
    ("pending_approval", "approved"),
    ("pending_approval", "draft"),
}


def test_table_covers_every_state_and_matches_the_spec() -> None:
    assert set(TRANSITIONS) == set(ORDER_STATUSES)
    pairs = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert pairs == BY_OWNER | MANAGER_ONLY | APPROVAL_ONLY
    assert TRANSITIONS["closed"] == {} and TRANSITIONS["cancelled"] == {}


def _attempt(session: Session, actor_kind: str, world: object, number: str, to: str) -> str:
    """Try one transition inside a savepoint that is always rolled back; returns the outcome."""
    savepoint = session.begin_nested()
    try:
        order = orders.get_order(session, actor=world.gm, number=number)  # type: ignore[attr-defined]
        if actor_kind == "system":
            apply_status(session, order, to, None, reason="测试原因")
        else:
            actor = world.sales1 if actor_kind == "owner" else world.mgr1  # type: ignore[attr-defined]
            orders.transition(session, actor=actor, number=number, to=to, reason="测试原因")
        assert order.status == to
        return "ok"
    except IllegalTransition as exc:
        assert ("订单" in exc.message and "可以" in exc.message) or "不能再变更" in exc.message
        return "illegal"
    finally:
        savepoint.rollback()


ALLOWED = {
    "owner": BY_OWNER,
    "manager": BY_OWNER | MANAGER_ONLY,
    "system": BY_OWNER | MANAGER_ONLY | APPROVAL_ONLY,
}


def test_every_pair(session: Session, rt: object) -> None:
    """From every state, try every target as the owner, a manager and the approvals service.

    One test (not 64) because each database test pays for a fresh schema; the assertion names
    the failing (actor, from, to)."""
    world = build_world(session)
    order = make_order(session, world.sales1)
    for start in ORDER_STATUSES:
        force_status(session, order, start)
        for actor_kind, allowed in ALLOWED.items():
            for target in ORDER_STATUSES:
                pair = (start, target)
                expected = "ok" if pair in allowed else "illegal"
                got = _attempt(session, actor_kind, world, order.number, target)
                assert got == expected, (actor_kind, pair)
        session.refresh(order)
        assert order.status == start  # every attempt was rolled back


def test_illegal_message_says_what_is_allowed(session: Session, rt: object) -> None:
    world = build_world(session)
    order = make_order(session, world.sales1)
    force_status(session, order, "in_progress")
    with pytest.raises(IllegalTransition) as err:
        orders.transition(session, actor=world.sales1, number=order.number, to="closed")
    assert "执行中" in err.value.message and "交付" in err.value.message
    with pytest.raises(IllegalTransition) as err:
        orders.transition(
            session, actor=world.sales1, number=order.number, to="cancelled", reason="客户预算取消"
        )
    assert "只有经理" in err.value.message
    force_status(session, order, "pending_approval")
    with pytest.raises(IllegalTransition) as err:
        orders.transition(session, actor=world.sales1, number=order.number, to="approved")
    assert "需经审批流程" in err.value.message
    force_status(session, order, "closed")
    with pytest.raises(IllegalTransition) as err:
        orders.transition(session, actor=world.gm, number=order.number, to="in_progress")
    assert err.value.message == "不能变更为「执行中」。订单已关闭,不能再变更状态"
    with pytest.raises(ValidationFailed) as verr:
        orders.update_order(
            session,
            actor=world.gm,
            number=order.number,
            changes={"title": "x"},
            expected_version=None,
        )
    assert verr.value.message == "订单已关闭,不能再修改"


def test_cancel_needs_a_reason_and_changes_nothing_without(session: Session, rt: object) -> None:
    world = build_world(session)
    order = make_order(session, world.sales1)
    with pytest.raises(ValidationFailed) as err:
        orders.transition(session, actor=world.sales1, number=order.number, to="取消", reason=" ")
    assert err.value.fields == {"reason": "请填写原因"}
    session.rollback()
    assert order.status == "draft"
    cancelled = orders.transition(
        session, actor=world.sales1, number=order.number, to="cancel", reason="客户改期"
    )
    session.commit()
    assert cancelled.status == "cancelled" and cancelled.status_reason == "客户改期"
    assert cancelled.closed_at is not None


def test_rejection_returns_to_draft_with_reason(session: Session, rt: object) -> None:
    world = build_world(session)
    order = make_order(session, world.sales1)
    apply_status(session, order, "pending_approval", world.sales1)
    assert order.submitted_at is not None
    apply_status(session, order, "draft", world.mgr1, reason="价格过低")
    session.commit()
    assert order.status == "draft" and order.status_reason == "价格过低"
    kinds = session.scalars(
        select(Activity.body).where(Activity.order_id == order.id, Activity.kind == "status")
    ).all()
    assert any("价格过低" in body for body in kinds)


def test_transition_records_timeline_and_notifies_owner_and_pm(
    session: Session, rt: object
) -> None:
    world = build_world(session)
    order = make_order(session, world.sales1)
    force_status(session, order, "approved")
    session.add(Project(code="P-1", name="ERP", order=order, pm=world.pm1))
    session.commit()
    version_before = order.version
    orders.transition(session, actor=world.mgr1, number=order.number, to="开始执行")
    session.commit()
    assert order.status == "in_progress" and order.version == version_before + 1
    activity = session.scalars(
        select(Activity).where(Activity.order_id == order.id, Activity.kind == "status")
    ).one()
    assert activity.actor_id == world.mgr1.id
    assert activity.data["from"] == "approved" and activity.data["to"] == "in_progress"
    keys = set(session.scalars(select(OutboxMessage.idempotency_key)))
    assert keys == {
        f"order-status:{order.id}:{order.version}:sales1",
        f"order-status:{order.id}:{order.version}:pm1",
    }
    msg = session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == "sales1")).one()
    assert msg.channel == "app_message" and "执行中" in msg.payload["text"]["content"]
    # The PM moving it on is not told about their own change; the owner is.
    orders.transition(session, actor=world.pm1, number=order.number, to="delivered")
    session.commit()
    recipients = session.scalars(
        select(OutboxMessage.recipient).where(
            OutboxMessage.idempotency_key.like(f"order-status:{order.id}:{order.version}:%")
        )
    ).all()
    assert recipients == ["sales1"]


def test_who_may_not_transition(session: Session, rt: object) -> None:
    world = build_world(session)
    order = make_order(session, world.sales1)
    force_status(session, order, "approved")
    refused: list[tuple[str, type[DomainError]]] = [
        ("sales2", NotFound),  # same department, not the owner
        ("sales3", NotFound),
        ("pm1", NotFound),  # no project of theirs
        ("fin", PermissionDenied),  # sees every order, changes none
    ]
    for name, error in refused:
        with pytest.raises(error):
            orders.transition(
                session, actor=world.by_name(name), number=order.number, to="in_progress"
            )
        session.rollback()
    session.refresh(order)
    assert order.status == "approved"
    assert session.scalars(select(Activity).where(Activity.kind == "status")).all() == []


def test_two_people_moving_the_same_order_at_once_yield_one_outcome(rt: Runtime) -> None:
    with rt.db.transaction() as setup:
        world = build_world(setup)
        order = make_order(setup, world.sales1)
        force_status(setup, order, "approved")
        number = order.number
    first, second = rt.db.Session(), rt.db.Session()
    try:
        owner = get_active_staff(first, "sales1")
        manager = get_active_staff(second, "mgr1")
        # Both loaded the approved order before either acted (and still hold it).
        mine = orders.get_order(first, actor=owner, number=number)
        theirs = orders.get_order(second, actor=manager, number=number)
        assert mine.version == theirs.version and theirs.status == "approved"
        orders.transition(first, actor=owner, number=number, to="in_progress")
        first.commit()
        with pytest.raises(Conflict) as err:
            orders.transition(second, actor=manager, number=number, to="cancelled", reason="撤单")
        assert err.value.message == "订单已被 张三 修改,请刷新后重试"
        second.rollback()
    finally:
        first.close()
        second.close()
    with rt.db.transaction() as check:
        stored = check.scalars(select(Order).where(Order.number == number)).one()
        assert stored.status == "in_progress"
        kinds = check.scalars(select(Activity.data).where(Activity.kind == "status")).all()
        assert [k["to"] for k in kinds] == ["in_progress"]
