"""变更 / change through the signed callbacks: raised in a group bound to the order (number
left out), approved by a card click, rejected by command; the plan and the books after each."""

from __future__ import annotations

import re
from decimal import Decimal

from sqlalchemy import select

from orderdesk.models import (
    ApprovalAssignment,
    ApprovalRequest,
    ChangeRequest,
    ChatBinding,
    Installment,
    Order,
    OutboxMessage,
    PaymentPlan,
)
from orderdesk.money.ledger import check_ledger
from tests.changes_world import change_flows
from tests.chat_world import Co, company  # noqa: F401 - provides the `co` fixture

GROUP = "grp-bound"


def _setup(co: Co) -> None:
    """Change flows, and the project's own app group (what approval automation creates)."""
    with co.rt.db.transaction() as s:
        change_flows(s)
        order = s.scalar(select(Order).where(Order.number == "SO-2026-0002"))
        assert order is not None and order.project is not None
        s.add(
            ChatBinding(
                chat_id="prjgroup", kind="appchat", audience="internal", project_id=order.project.id
            )
        )
    said = co.chat.bot("sales1", "绑定 SO-2026-0002", chat=GROUP)
    assert said.text.startswith("本群已绑定 SO-2026-0002")


def _plan(co: Co) -> list[Decimal]:
    with co.rt.db.transaction() as s:
        order = s.scalar(select(Order).where(Order.number == "SO-2026-0002"))
        assert order is not None
        rows = s.scalars(
            select(Installment.amount)
            .join(PaymentPlan, PaymentPlan.id == Installment.plan_id)
            .where(PaymentPlan.order_id == order.id)
            .order_by(Installment.sequence)
        )
        return list(rows)


def _card_task(co: Co, number: str) -> tuple[str, int]:
    with co.rt.db.transaction() as s:
        request = s.scalar(
            select(ApprovalRequest)
            .join(ChangeRequest, ChangeRequest.id == ApprovalRequest.change_request_id)
            .where(ChangeRequest.number == number)
        )
        assert request is not None
        slot = s.scalar(
            select(ApprovalAssignment).where(ApprovalAssignment.request_id == request.id)
        )
        assert slot is not None and slot.card_task_id is not None
        card = s.scalar(
            select(OutboxMessage).where(OutboxMessage.idempotency_key == f"approval-card:{slot.id}")
        )
        assert card is not None and card.recipient == "mgr1"
        assert f"变更审批 {number}" in str(card.payload)
        return slot.card_task_id, request.id


def test_change_in_a_bound_group_approved_by_card(co: Co) -> None:
    _setup(co)
    assert _plan(co) == [Decimal("30000.00"), Decimal("70000.00")]
    said = co.chat.bot("pm1", "变更 增加移动端 +3万 延期2周", chat=GROUP).text
    # pm1 may not see the order's money: the group reply names the schedule only
    assert said.startswith("已发起变更单 SO-2026-0002-C1:增加移动端(延期14天),已提交审批")
    task, request_id = _card_task(co, "SO-2026-0002-C1")
    pending = co.chat.app("mgr1", "待审批").text
    assert "SO-2026-0002-C1" in pending and "SO-2026-0001" in pending  # both kinds wait
    clicked = co.chat.click("mgr1", f"approve:{request_id}", task_id=task)
    assert clicked.kind == "update_button"
    assert re.fullmatch(r"已同意 · 张经理 · \d{2}:\d{2}", clicked.text)
    assert co.order("SO-2026-0002").amount == Decimal("130000.00")
    assert _plan(co) == [Decimal("39000.00"), Decimal("91000.00")]  # nothing paid yet: 30/70
    with co.rt.db.transaction() as s:
        assert [v.line() for v in check_ledger(s)] == []
        told = s.scalars(select(OutboxMessage.payload).where(OutboxMessage.recipient == "prjgroup"))
        assert any("SO-2026-0002-C1 已批准" in str(p) for p in told)


def test_english_alias_explicit_number_and_rejection(co: Co) -> None:
    _setup(co)
    said = co.chat.app("sales1", "change SO-2026-0002 去掉培训 -5000 提前3天").text
    assert said.startswith("已发起变更单 SO-2026-0002-C1:去掉培训(-¥5,000.00,提前3天)")
    usage = co.chat.app("sales1", "变更 SO-2026-0002").text
    assert "请写上订单号和变更内容" in usage
    assert "不能为负" in co.chat.app("sales1", "变更 SO-2026-0002 全部退掉 -20万").text
    outsider = co.chat.app("sales2", "变更 SO-2026-0002 加功能 +1万").text
    assert "找不到订单" in outsider
    done = co.chat.app("mgr1", "驳回 SO-2026-0002 不同意减项").text
    assert "驳回" in done and "SO-2026-0002-C1" in done
    assert co.order("SO-2026-0002").amount == Decimal("100000.00")
    assert _plan(co) == [Decimal("30000.00"), Decimal("70000.00")]
    with co.rt.db.transaction() as s:
        change = s.scalar(select(ChangeRequest))
        assert change is not None and change.status == "rejected"
        assert [v.line() for v in check_ledger(s)] == []
