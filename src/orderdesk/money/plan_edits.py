"""Editing an order's payment plan by hand (finance / gm / admin): amount, due date, trigger.

Rules:
- The installments still sum exactly to the plan total (the contract amount).
- Money already in is locked: a paid installment does not change at all; any other cannot go
  below what has been received or invoiced on it.
- Every change is one timeline entry with each installment's values before and after.
All under the plan lock (core.locks), so parallel edits and receipts see each other's result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.core.errors import ValidationFailed
from orderdesk.core.formatting import money
from orderdesk.core.parsing import DAY_RULE_ZH, parse_day
from orderdesk.directory.permissions import require_role
from orderdesk.models import Installment, Order, PaymentPlan, Staff
from orderdesk.models.money import TRIGGERS
from orderdesk.money.collections import plan_of
from orderdesk.money.plans import TRIGGER_ZH, lock_plan
from orderdesk.money.receipts import installment_status, parse_amount
from orderdesk.orders import timeline
from orderdesk.orders.service import get_order

EDITABLE = ("amount", "due_date", "trigger", "trigger_days", "trigger_event")


@dataclass(frozen=True)
class PlanEdit:
    order: Order
    plan: PaymentPlan
    installments: list[Installment]
    changes: list[dict[str, Any]]


def _snapshot(inst: Installment) -> dict[str, Any]:
    return {
        "amount": str(inst.amount),
        "due_date": inst.due_date.isoformat() if inst.due_date else None,
        "trigger": inst.trigger,
        "trigger_days": inst.trigger_days,
        "trigger_event": inst.trigger_event,
    }


def edit_plan(
    session: Session, *, actor: Staff, number: str, edits: Sequence[dict[str, Any]]
) -> PlanEdit:
    """Apply `edits` ([{"id": .., "amount"?, "due_date"?, "trigger"?, ...}]) to the order's plan."""
    require_role(actor, "finance", "gm", "admin")
    order = get_order(session, actor=actor, number=number)
    plan = plan_of(session, order)
    if plan is None:
        raise ValidationFailed(f"订单 {order.number} 还没有付款计划")
    insts = lock_plan(session, plan)
    by_id = {i.id: i for i in insts if i.status != "cancelled"}
    changes: list[dict[str, Any]] = []
    for edit in edits:
        inst = by_id.get(edit.get("id", 0))
        if inst is None:
            raise ValidationFailed(
                f"分期 {edit.get('id')} 不属于订单 {order.number}", fields={"id": "unknown"}
            )
        before = _snapshot(inst)
        _apply(inst, edit)
        after = _snapshot(inst)
        if after != before:
            changes.append({"id": inst.id, "name": inst.name, "before": before, "after": after})
    total = sum((i.amount for i in by_id.values()), Decimal("0.00"))
    if total != plan.total:
        raise ValidationFailed(
            f"分期合计 {money(total)} 须等于合同金额 {money(plan.total)}"
            f"(差 {money(plan.total - total)})",
            fields={"installments": "sum_mismatch"},
        )
    session.flush()
    if changes:
        _record(session, actor, order, changes)
    return PlanEdit(order, plan, sorted(by_id.values(), key=lambda i: i.sequence), changes)


def _apply(inst: Installment, edit: dict[str, Any]) -> None:
    if inst.status == "paid" and any(k in edit for k in EDITABLE):
        raise ValidationFailed(f"{inst.name} 已结清,不能修改", fields={"id": "paid"})
    if "amount" in edit:
        amount = parse_amount(edit["amount"], label=f"{inst.name}金额")
        floor = max(inst.paid_amount, inst.invoiced_amount)
        if amount < floor:
            raise ValidationFailed(
                f"{inst.name} 已收款/已开票 {money(floor)},金额不能低于此数",
                fields={"amount": "below_paid_or_invoiced"},
            )
        # A hand-set amount is fixed: it no longer follows a percent of the contract.
        inst.amount = inst.fixed_amount = amount
        inst.percent = None
    if "trigger" in edit:
        if edit["trigger"] not in TRIGGERS:
            raise ValidationFailed(
                f"触发条件须为 {' / '.join(TRIGGERS)}", fields={"trigger": "invalid"}
            )
        inst.trigger = edit["trigger"]
    if "trigger_days" in edit:
        inst.trigger_days = int(edit["trigger_days"])
    if "trigger_event" in edit:
        inst.trigger_event = (edit["trigger_event"] or "").strip()[:32] or None
    if "due_date" in edit:
        inst.due_date = _day(edit["due_date"])
    inst.status = installment_status(inst)
    if inst.status == "paid" and inst.paid_at is None:
        inst.paid_at = clock.now()  # lowered to what was already received


def _day(raw: Any) -> Any:
    if raw is None:
        return None
    day = parse_day(str(raw))
    if day is None:
        raise ValidationFailed(f"到期日无效({DAY_RULE_ZH})", fields={"due_date": "invalid"})
    return day


def describe_change(change: dict[str, Any]) -> str:
    labels = {"amount": "金额", "due_date": "到期日", "trigger": "触发", "trigger_days": "天数"}
    labels["trigger_event"] = "事件"
    parts = []
    for key, label in labels.items():
        old, new = change["before"][key], change["after"][key]
        if old != new:
            if key == "trigger":
                old, new = TRIGGER_ZH.get(old, old), TRIGGER_ZH.get(new, new)
            parts.append(f"{label} {old or '无'} → {new or '无'}")
    return f"{change['name']}:" + ",".join(parts)


def _record(session: Session, actor: Staff, order: Order, changes: list[dict[str, Any]]) -> None:
    timeline.record(
        session,
        kind="payment",
        actor=actor,
        body="调整付款计划:" + ";".join(describe_change(c) for c in changes),
        plain="调整付款计划:" + "、".join(c["name"] for c in changes),
        order=order,
        data={"plan_changes": changes},
    )


def edit_plan_by_name(
    session: Session,
    *,
    actor: Staff,
    number: str,
    edits: Sequence[tuple[int | str, dict[str, Any]]],
) -> PlanEdit:
    """`edit_plan` with installments named as people say them (chat `计划 SO-… 验收款 到期
    12-30`); the role is checked before the order is looked up."""
    from orderdesk.money.invoices import installment_of  # invoices sits above these imports

    require_role(actor, "finance", "gm", "admin")
    order = get_order(session, actor=actor, number=number)
    by_id = [{**edit, "id": installment_of(session, order, ref).id} for ref, edit in edits]
    return edit_plan(session, actor=actor, number=number, edits=by_id)
