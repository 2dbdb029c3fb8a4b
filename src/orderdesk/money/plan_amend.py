"""A payment plan re-totalled by an approved change request (变更单).

Rules (decided here): an installment that is settled (paid) or fully invoiced stays exactly as
it is; any other keeps at least what was received or invoiced on it (its floor), and the new
total minus all floors is spread over the rest of those installments in proportion to their
unpaid parts (names, triggers and due dates stay). With nothing left to spread over, an
increase becomes one new installment "变更款" due on the day of the change. A total below the
floors is refused. Runs under the plan lock, so a parallel receipt sees the new plan or the
change sees the receipt, never half of each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from orderdesk.core.errors import ValidationFailed
from orderdesk.core.formatting import money
from orderdesk.models import Installment, PaymentPlan
from orderdesk.money.plans import cents, lock_plan, spread
from orderdesk.money.receipts import installment_status


@dataclass(frozen=True)
class PlanAmendment:
    total_before: Decimal
    total_after: Decimal
    before: list[dict[str, Any]]
    after: list[dict[str, Any]]


def _rows(insts: list[Installment]) -> list[dict[str, Any]]:
    return [
        {
            "sequence": i.sequence,
            "name": i.name,
            "amount": str(i.amount),
            "paid": str(i.paid_amount),
            "invoiced": str(i.invoiced_amount),
            "due_date": i.due_date.isoformat() if i.due_date else None,
        }
        for i in insts
    ]


def _settled(inst: Installment) -> bool:
    return inst.status == "paid" or (inst.amount > 0 and inst.invoiced_amount >= inst.amount)


def _floor(inst: Installment) -> Decimal:
    return inst.amount if _settled(inst) else max(inst.paid_amount, inst.invoiced_amount)


def kept_floor(insts: list[Installment]) -> Decimal:
    """What the plan can no longer go below: what was received or invoiced (settled whole)."""
    return sum((_floor(i) for i in insts if i.status != "cancelled"), Decimal("0"))


def amend_total(
    session: Session, plan: PaymentPlan, *, delta: Decimal, on_date: date, label: str
) -> PlanAmendment:
    """Move the plan total by `delta` (see the module doc for what moves and what stays)."""
    insts = [i for i in lock_plan(session, plan) if i.status != "cancelled"]
    before = _rows(insts)
    total_before = cents(plan.total)
    total = cents(total_before + delta)
    floor = kept_floor(insts)
    if total < floor:
        raise ValidationFailed(
            f"变更后付款计划合计 {money(total)} 低于已收款/已开票的金额 {money(floor)},"
            "不能这样变更",
            fields={"amount_delta": "below_paid_or_invoiced"},
        )
    open_ = [i for i in insts if not _settled(i)]
    weights = [i.amount - _floor(i) for i in open_]
    rest = total - floor
    if open_ and (sum(weights, Decimal("0")) > 0 or rest == 0):
        for inst, share in zip(open_, spread(rest, weights), strict=True):
            # A re-spread amount is fixed: it no longer follows a percent of the contract.
            inst.amount = inst.fixed_amount = _floor(inst) + share
            inst.percent = None
            inst.status = installment_status(inst)
    elif rest > 0:
        insts.append(_extra(plan, insts, rest, on_date, label))
    plan.total = total
    session.flush()
    return PlanAmendment(total_before, total, before, _rows(insts))


def _extra(
    plan: PaymentPlan, insts: list[Installment], amount: Decimal, on_date: date, label: str
) -> Installment:
    """The increase as its own installment, due on the day of the change."""
    extra = Installment(
        sequence=max((i.sequence for i in insts), default=0) + 1,
        name=f"变更款({label})"[:64],
        trigger="on_date",
        trigger_days=0,
        fixed_amount=amount,
        amount=amount,
        due_date=on_date,
        status="due",
        paid_amount=Decimal("0.00"),
        invoiced_amount=Decimal("0.00"),
    )
    plan.installments.append(extra)
    return extra
