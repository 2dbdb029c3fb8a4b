"""Automation when the last step approves: project, payment plan, group chat, notices — once."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import func, select

from orderdesk.approvals import service as approvals
from orderdesk.core import clock
from orderdesk.directory.staff import get_active_staff
from orderdesk.models import (
    ChatBinding,
    Installment,
    Milestone,
    Order,
    OutboxMessage,
    PaymentPlan,
    Project,
    Task,
)
from orderdesk.orders.automation import on_order_approved
from orderdesk.runtime import Runtime
from tests.approvals_world import build, make_order

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 2026-03-02 in Shanghai


def _approve(rt: Runtime, **order_kw: object) -> None:
    with clock.frozen(T0), rt.db.transaction() as s:
        w = build(s)
        make_order(s, w, amount="30000.00", **order_kw)  # type: ignore[arg-type]
        approvals.submit(s, actor=w["sales1"], number="SO-2026-0001")
    with clock.frozen(T0), rt.db.transaction() as s:
        approvals.decide(
            s, actor=get_active_staff(s, "mgr1"), number="SO-2026-0001", decision="approve"
        )


def _count(rt: Runtime, model: type) -> int:
    with rt.db.transaction() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_last_approval_builds_the_project(rt: Runtime) -> None:
    _approve(rt)
    with rt.db.transaction() as s:
        project = s.scalar(select(Project))
        assert project is not None
        assert project.code == "PRJ-2026-0001"
        assert project.pm is not None and project.pm.userid == "pm1"
        assert project.start_date == date(2026, 3, 2)
        assert project.budget == Decimal("30000.00")
        tasks = {t.title: (t.owner.userid if t.owner else None, t.due_date) for t in project.tasks}
        assert tasks == {
            "需求调研": ("pm1", date(2026, 3, 9)),
            "部署上线": ("dev1", date(2026, 3, 22)),
            "客户培训": ("sales1", date(2026, 4, 1)),
        }
        assert [(m.sequence, m.name, m.due_date) for m in project.milestones] == [
            (1, "上线", date(2026, 3, 23)),
            (2, "验收", date(2026, 4, 16)),
        ]
        plan = s.scalar(select(PaymentPlan))
        assert plan is not None and plan.order_id == project.order_id
        assert sum(i.amount for i in plan.installments) == Decimal("30000.00")
        chat = s.scalar(select(ChatBinding))
        assert chat is not None
        assert (chat.kind, chat.audience, chat.project_id) == ("appchat", "internal", project.id)
        assert chat.chat_id == "prj20260001"
        create = s.scalar(select(OutboxMessage).where(OutboxMessage.channel == "appchat_create"))
        assert create is not None and create.recipient == "prj20260001"
        assert create.payload["chatid"] == "prj20260001"
        assert create.payload["owner"] == "pm1"
        assert sorted(create.payload["userlist"]) == ["dev1", "pm1", "sales1"]
        welcome = s.scalar(select(OutboxMessage).where(OutboxMessage.channel == "appchat"))
        assert welcome is not None and welcome.id > create.id  # created before it is spoken to
        assert "SO-2026-0001" in welcome.payload["text"]["content"]
        assert "星海科技" in welcome.payload["text"]["content"]
        notice = s.scalar(
            select(OutboxMessage).where(OutboxMessage.idempotency_key == f"order-approved:{1}")
        )
        assert notice is not None
        assert notice.recipient.split("|") == ["sales1", "pm1", "fin1"]


def test_automation_twice_creates_nothing_twice(rt: Runtime) -> None:
    _approve(rt)
    counts = {m: _count(rt, m) for m in (Project, Task, Milestone, PaymentPlan, Installment)}
    outbox_before = _count(rt, OutboxMessage)
    for _ in range(2):
        with clock.frozen(T0), rt.db.transaction() as s:
            order = s.scalar(select(Order))
            assert order is not None
            on_order_approved(s, order=order, actor=None)
    assert {m: _count(rt, m) for m in counts} == counts
    assert counts[Project] == 1 and counts[PaymentPlan] == 1
    assert _count(rt, ChatBinding) == 1
    assert _count(rt, OutboxMessage) == outbox_before


def test_pm_custom_field_wins_and_no_contract_means_no_plan(rt: Runtime) -> None:
    with rt.db.transaction() as s:
        w = build(s)
        from tests.approvals_world import person

        person(s, "pm2", "李项目", "pm")
        make_order(s, w, contract=False, custom={"pm": "pm2"})
        order = s.scalar(select(Order))
        assert order is not None
        result = on_order_approved(s, order=order, actor=None)
        assert result.project.pm is not None and result.project.pm.userid == "pm2"
        assert result.plan is None
        assert s.scalar(select(func.count()).select_from(PaymentPlan)) == 0
