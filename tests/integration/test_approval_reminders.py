"""Approval reminders and escalations wait for business hours (China's working days) and are
batched per person: one message listing everything that waits for them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from orderdesk.approvals import service as approvals
from orderdesk.core import clock
from orderdesk.jobs.approvals import remind_and_escalate
from orderdesk.models import OutboxMessage
from orderdesk.runtime import Runtime
from tests.approvals_world import build, make_order

# Monday 2026-03-02 09:00 in Shanghai.
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
NUMBERS = ("SO-2026-0001", "SO-2026-0002", "SO-2026-0003")


def _submit_three(rt: Runtime) -> None:
    with clock.frozen(T0), rt.db.transaction() as s:
        w = build(s)
        w.flow.remind_after_hours = 4
        w.flow.escalate_after_hours = 24
        for number in NUMBERS:
            make_order(s, w, number=number, contract=False)
            approvals.submit(s, actor=w["sales1"], number=number)


def _messages(rt: Runtime, prefix: str) -> list[OutboxMessage]:
    with rt.db.transaction() as s:
        rows = s.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.idempotency_key.startswith(prefix))
            .order_by(OutboxMessage.id)
        ).all()
        s.expunge_all()
        return list(rows)


def test_one_reminder_lists_every_order_waiting_for_the_approver(rt: Runtime) -> None:
    _submit_three(rt)
    assert remind_and_escalate(now=T0 + timedelta(hours=5)) == {"reminded": 3, "escalated": 0}
    sent = _messages(rt, "approval-remind:")
    assert len(sent) == 1 and sent[0].recipient == "mgr1"
    text = sent[0].payload["text"]["content"]
    assert text.startswith("【审批提醒】有 3 个订单等待您审批")
    assert all(number in text for number in NUMBERS) and "已等 5 小时" in text
    assert remind_and_escalate(now=T0 + timedelta(hours=6)) == {"reminded": 0, "escalated": 0}
    assert len(_messages(rt, "approval-remind:")) == 1


def test_nothing_is_sent_at_night_or_on_a_holiday_and_it_waits_for_the_window(
    rt: Runtime,
) -> None:
    _submit_three(rt)
    night = datetime(2026, 3, 2, 16, 48, tzinfo=UTC)  # Tuesday 00:48 in Shanghai
    assert remind_and_escalate(now=night) == {"reminded": 0, "escalated": 0}
    assert _messages(rt, "approval-remind:") == _messages(rt, "approval-escalate:") == []
    morning = datetime(2026, 3, 3, 1, 5, tzinfo=UTC)  # Tuesday 09:05: past 24 h, escalate
    assert remind_and_escalate(now=morning) == {"reminded": 0, "escalated": 3}
    notices = _messages(rt, "approval-escalate:")
    assert len(notices) == 1 and notices[0].recipient == "boss"
    text = notices[0].payload["text"]["content"]
    assert text.startswith("【审批升级】3 个订单的审批已超时") and "原审批人" in text


def test_chinese_holidays_are_quiet_too(rt: Runtime) -> None:
    with clock.frozen(datetime(2026, 2, 13, 1, 0, tzinfo=UTC)), rt.db.transaction() as s:
        w = build(s)
        w.flow.remind_after_hours = 4
        w.flow.escalate_after_hours = 1000
        make_order(s, w, contract=False)
        approvals.submit(s, actor=w["sales1"], number="SO-2026-0001")
    # Tuesday 2026-02-17 11:00 Shanghai is Spring Festival: no reminder.
    assert remind_and_escalate(now=datetime(2026, 2, 17, 3, 0, tzinfo=UTC))["reminded"] == 0
    # Saturday 2026-02-28 is a make-up working day: the reminder goes out.
    assert remind_and_escalate(now=datetime(2026, 2, 28, 3, 0, tzinfo=UTC))["reminded"] == 1
