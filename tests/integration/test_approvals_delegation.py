"""Delegation windows, reminders and escalation with a fake clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from orderdesk.approvals import service as approvals
from orderdesk.core import clock
from orderdesk.core.errors import NotFound, PermissionDenied, ValidationFailed
from orderdesk.directory.staff import get_active_staff
from orderdesk.jobs.approvals import remind_and_escalate
from orderdesk.models import (
    Activity,
    ApprovalAction,
    ApprovalAssignment,
    Delegation,
    Order,
    OutboxMessage,
)
from orderdesk.runtime import Runtime
from tests.approvals_world import build, make_order

# 2026-03-02 09:00 in Shanghai
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def _submit(rt: Runtime, *, mode: str = "any", managers: int = 1) -> int:
    with clock.frozen(T0), rt.db.transaction() as s:
        w = build(s, managers=managers)
        w.flow.steps[0].mode = mode
        w.flow.remind_after_hours = 4
        w.flow.escalate_after_hours = 24
        make_order(s, w)
        return approvals.submit(s, actor=w["sales1"], number="SO-2026-0001").id


@pytest.mark.parametrize(
    ("start", "end", "inside"),
    [
        (date(2026, 3, 1), date(2026, 3, 5), True),
        (date(2026, 3, 2), date(2026, 3, 2), True),  # one-day window, today
        (date(2026, 3, 3), date(2026, 3, 9), False),  # not started yet
    ],
)
def test_delegation_window(rt: Runtime, start: date, end: date, inside: bool) -> None:
    _submit(rt)
    with clock.frozen(T0), rt.db.transaction() as s:
        mgr1, sales2 = get_active_staff(s, "mgr1"), get_active_staff(s, "sales2")
        approvals.set_delegation(
            s, actor=mgr1, substitute_userid="sales2", starts_on=start, ends_on=end, reason="休假"
        )
        pending = approvals.pending_for(s, actor=sales2)
        assert len(pending) == (1 if inside else 0)
    with clock.frozen(T0 + timedelta(hours=1)), rt.db.transaction() as s:
        sales2 = get_active_staff(s, "sales2")
        if not inside:  # outside the window the order is not theirs to see
            with pytest.raises(NotFound):
                approvals.decide(s, actor=sales2, number="SO-2026-0001", decision="approve")
            return
        res = approvals.decide(s, actor=sales2, number="SO-2026-0001", decision="approve")
        assert "代 张经理 审批" in res.message
        assert res.order_status == "approved"
    with rt.db.transaction() as s:
        action = s.scalar(select(ApprovalAction))
        assert action is not None
        assert action.actor.userid == "sales2"
        assert action.on_behalf_of is not None and action.on_behalf_of.userid == "mgr1"
        bodies = s.scalars(select(Activity.body).where(Activity.kind == "approval")).all()
        assert any("赵销售 代 张经理 审批:同意" in b for b in bodies)


def test_delegation_ends_after_window(rt: Runtime) -> None:
    _submit(rt)
    with clock.frozen(T0), rt.db.transaction() as s:
        mgr1 = get_active_staff(s, "mgr1")
        approvals.set_delegation(
            s,
            actor=mgr1,
            substitute_userid="sales2",
            starts_on=date(2026, 3, 1),
            ends_on=date(2026, 3, 2),
        )
    # 2026-03-02 23:30 Shanghai is still inside; 00:30 the next day is outside
    with clock.frozen(datetime(2026, 3, 2, 15, 30, tzinfo=UTC)), rt.db.transaction() as s:
        assert len(approvals.pending_for(s, actor=get_active_staff(s, "sales2"))) == 1
    with clock.frozen(datetime(2026, 3, 2, 16, 30, tzinfo=UTC)), rt.db.transaction() as s:
        assert approvals.pending_for(s, actor=get_active_staff(s, "sales2")) == []


def test_delegation_validation(rt: Runtime) -> None:
    with clock.frozen(T0), rt.db.transaction() as s:
        build(s)
        mgr1 = get_active_staff(s, "mgr1")
        bad = [
            ("mgr1", date(2026, 3, 1), date(2026, 3, 3)),  # yourself
            ("nobody", date(2026, 3, 1), date(2026, 3, 3)),  # unknown
            ("sales2", date(2026, 3, 5), date(2026, 3, 3)),  # backwards
            ("sales2", date(2026, 2, 1), date(2026, 2, 3)),  # already over
        ]
        for who, start, end in bad:
            with pytest.raises(ValidationFailed):
                approvals.set_delegation(
                    s, actor=mgr1, substitute_userid=who, starts_on=start, ends_on=end
                )
        assert s.scalar(select(func.count()).select_from(Delegation)) == 0


def _keys(rt: Runtime, prefix: str) -> list[str]:
    with rt.db.transaction() as s:
        return list(
            s.scalars(
                select(OutboxMessage.idempotency_key)
                .where(OutboxMessage.idempotency_key.startswith(prefix))
                .order_by(OutboxMessage.id)
            )
        )


def test_reminder_once_then_escalation_to_manager(rt: Runtime) -> None:
    _submit(rt)
    with clock.frozen(T0), rt.db.transaction() as s:  # mgr1's substitute is reminded too
        approvals.set_delegation(
            s,
            actor=get_active_staff(s, "mgr1"),
            substitute_userid="sales2",
            starts_on=date(2026, 3, 2),
            ends_on=date(2026, 3, 2),
        )
    assert remind_and_escalate(now=T0 + timedelta(hours=3)) == {"reminded": 0, "escalated": 0}
    assert remind_and_escalate(now=T0 + timedelta(hours=5)) == {"reminded": 1, "escalated": 0}
    assert remind_and_escalate(now=T0 + timedelta(hours=6)) == {"reminded": 0, "escalated": 0}
    assert len(_keys(rt, "approval-remind:")) == 1
    with rt.db.transaction() as s:
        reminder = s.scalar(
            select(OutboxMessage).where(
                OutboxMessage.idempotency_key.startswith("approval-remind:")
            )
        )
        assert reminder is not None and reminder.recipient == "mgr1|sales2"
        assert "已等待您审批 5 小时" in reminder.payload["text"]["content"]
    with clock.frozen(T0 + timedelta(hours=25)):
        assert remind_and_escalate() == {"reminded": 0, "escalated": 1}
        assert remind_and_escalate() == {"reminded": 0, "escalated": 0}
    assert len(_keys(rt, "approval-escalate:")) == 1
    with rt.db.transaction() as s:
        boss = get_active_staff(s, "boss")
        pending = approvals.pending_for(s, actor=boss)
        assert [a.step_sequence for a in pending] == [1]
        # the escalated manager got a real approval card
        assert f"approval-card:{pending[0].id}" in _keys(rt, "approval-card:")
    with clock.frozen(T0 + timedelta(hours=26)), rt.db.transaction() as s:
        res = approvals.decide(
            s, actor=get_active_staff(s, "boss"), number="SO-2026-0001", decision="approve"
        )
        assert res.order_status == "approved"


def test_escalation_in_all_mode_stands_in_for_the_late_approver(rt: Runtime) -> None:
    _submit(rt, mode="all", managers=2)
    with clock.frozen(T0 + timedelta(hours=1)), rt.db.transaction() as s:
        approvals.decide(
            s, actor=get_active_staff(s, "mgr1"), number="SO-2026-0001", decision="approve"
        )
    # mgr2 never answers; only the still-pending approver is escalated
    assert remind_and_escalate(now=T0 + timedelta(hours=30)) == {"reminded": 0, "escalated": 1}
    with clock.frozen(T0 + timedelta(hours=31)), rt.db.transaction() as s:
        res = approvals.decide(
            s, actor=get_active_staff(s, "boss"), number="SO-2026-0001", decision="approve"
        )
        assert res.request_finished
    with rt.db.transaction() as s:
        statuses = {a.approver.userid: a.status for a in s.scalars(select(ApprovalAssignment))}
        assert statuses == {"mgr1": "approved", "mgr2": "superseded", "boss": "approved"}
        assert s.scalar(select(Order.status)) == "approved"
    # nothing left to chase
    assert remind_and_escalate(now=T0 + timedelta(hours=80)) == {"reminded": 0, "escalated": 0}


def test_substitute_gets_the_card_but_never_for_their_own_order(rt: Runtime) -> None:
    with clock.frozen(T0), rt.db.transaction() as s:
        w = build(s)
        make_order(s, w, number="SO-2026-0001")
        make_order(s, w, number="SO-2026-0002")
        # order 1 submitted while sales2 substitutes, order 2 while sales1 (its owner) does
        approvals.set_delegation(
            s,
            actor=w["mgr1"],
            substitute_userid="sales2",
            starts_on=date(2026, 3, 1),
            ends_on=date(2026, 3, 9),
        )
        approvals.submit(s, actor=w["sales1"], number="SO-2026-0001")
        approvals.set_delegation(
            s,
            actor=w["mgr1"],
            substitute_userid="sales1",
            starts_on=date(2026, 3, 1),
            ends_on=date(2026, 3, 9),
        )
        approvals.submit(s, actor=w["sales1"], number="SO-2026-0002")
        # the second window replaced the overlapping first one
        active = select(func.count()).select_from(Delegation).where(Delegation.active)
        assert s.scalar(active) == 1
    with rt.db.transaction() as s:
        cards = {
            m.idempotency_key: m.recipient
            for m in s.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.idempotency_key.startswith("approval-card:")
                )
            )
        }
        assert cards == {"approval-card:1": "mgr1|sales2", "approval-card:2": "mgr1"}
    with clock.frozen(T0), rt.db.transaction() as s:
        sales1 = get_active_staff(s, "sales1")
        assert approvals.pending_for(s, actor=sales1) == []
        with pytest.raises(PermissionDenied):
            approvals.decide(s, actor=sales1, number="SO-2026-0002", decision="approve")
        # mgr1 still decides their own queue
        assert len(approvals.pending_for(s, actor=get_active_staff(s, "mgr1"))) == 2
