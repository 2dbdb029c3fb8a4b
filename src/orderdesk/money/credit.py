"""Customer credit (预收): money received beyond an order's plan, applied later to an installment.

A receipt's `credit_amount` is what it could not allocate; each application draws on those
receipts oldest first and pays the installment like a receipt would. The available credit of a
receipt is its credit minus its live applications; the ledger check holds both to that.
Lock order (core.locks): the target plan and its installments, then the credit receipts by id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.core.errors import ValidationFailed
from orderdesk.core.formatting import money
from orderdesk.core.locks import lock_rows
from orderdesk.directory.permissions import require_role
from orderdesk.models import CreditApplication, Installment, Order, Receipt, Staff
from orderdesk.money.collections import MoneySummary, money_summary, plan_of
from orderdesk.money.plans import lock_plan
from orderdesk.money.receipts import ZERO, cancel_reminders, installment_status, parse_amount
from orderdesk.orders import timeline
from orderdesk.orders.service import get_order


@dataclass(frozen=True)
class CreditResult:
    order: Order
    installment: Installment
    amount: Decimal
    applications: list[CreditApplication]
    credit_left: Decimal
    summary: MoneySummary


def applied_by_receipt(session: Session, receipt_ids: Sequence[int]) -> dict[int, Decimal]:
    """Live (not reversed) credit applied, per source receipt."""
    if not receipt_ids:
        return {}
    rows = session.execute(
        select(CreditApplication.receipt_id, func.sum(CreditApplication.amount))
        .where(
            CreditApplication.receipt_id.in_(list(receipt_ids)),
            CreditApplication.reversed_at.is_(None),
        )
        .group_by(CreditApplication.receipt_id)
    ).all()
    return {rid: Decimal(str(total)) for rid, total in rows}


def _lock_credit_receipts(session: Session, customer_id: int) -> list[tuple[Receipt, Decimal]]:
    """The customer's live receipts that still hold credit, locked, with what each has left."""
    ids = session.scalars(
        select(Receipt.id).where(
            Receipt.customer_id == customer_id,
            Receipt.reversed_at.is_(None),
            Receipt.credit_amount > 0,
        )
    ).all()
    locked = [r for r in lock_rows(session, Receipt, ids) if r.reversed_at is None]
    applied = applied_by_receipt(session, [r.id for r in locked])  # read under the locks
    left = [(r, r.credit_amount - applied.get(r.id, ZERO)) for r in locked]
    return [(r, avail) for r, avail in left if avail > 0]


def apply_credit(
    session: Session,
    *,
    actor: Staff,
    number: str,
    installment_id: int,
    amount: Decimal | str | None = None,
) -> CreditResult:
    """Pay (part of) an installment of order `number` from its customer's credit (finance).
    Without `amount`: as much as both the installment and the credit allow."""
    require_role(actor, "finance")
    order = get_order(session, actor=actor, number=number)
    plan = plan_of(session, order)
    insts = lock_plan(session, plan) if plan is not None else []
    inst = next((i for i in insts if i.id == installment_id), None)
    if inst is None or inst.status == "cancelled":
        raise ValidationFailed(
            f"分期 {installment_id} 不属于订单 {order.number}", fields={"installment_id": "unknown"}
        )
    sources = _lock_credit_receipts(session, order.customer_id)
    available = sum((avail for _, avail in sources), ZERO)
    value = _amount(amount, inst.outstanding, available)
    applications = _draw(session, actor, inst, sources, value)
    session.flush()
    if inst.status == "paid":
        cancel_reminders(session, [inst.id])
    timeline.record(
        session,
        kind="payment",
        actor=actor,
        body=f"预收抵扣 {money(value)} 到 {inst.name}(来自 "
        + "、".join(a.receipt.number for a in applications)
        + ")",
        plain=f"预收抵扣到 {inst.name}",
        order=order,
        data={
            "credit_applied": str(value),
            "installment_id": inst.id,
            "receipts": [a.receipt.number for a in applications],
        },
    )
    return CreditResult(
        order, inst, value, applications, available - value, money_summary(session, order)
    )


def _amount(raw: Decimal | str | None, outstanding: Decimal, available: Decimal) -> Decimal:
    if outstanding <= 0:
        raise ValidationFailed("该分期已结清,无需抵扣", fields={"installment_id": "paid"})
    if available <= 0:
        raise ValidationFailed("该客户没有可用的预收余额", fields={"amount": "no_credit"})
    value = parse_amount(raw if raw is not None else min(outstanding, available), label="抵扣金额")
    if value > available:
        raise ValidationFailed(
            f"抵扣金额 {money(value)} 超过可用预收 {money(available)}",
            fields={"amount": "exceeds_credit"},
        )
    if value > outstanding:
        raise ValidationFailed(
            f"抵扣金额 {money(value)} 超过该分期未收 {money(outstanding)}",
            fields={"amount": "exceeds_installment"},
        )
    return value


def _draw(
    session: Session,
    actor: Staff,
    inst: Installment,
    sources: list[tuple[Receipt, Decimal]],
    value: Decimal,
) -> list[CreditApplication]:
    """Take `value` from the oldest credit first; the installment is paid like by a receipt."""
    now = clock.now()
    left = value
    made: list[CreditApplication] = []
    for receipt, avail in sources:
        if left <= 0:
            break
        part = min(left, avail)
        app = CreditApplication(
            receipt=receipt, installment=inst, amount=part, applied_at=now, applied_by_id=actor.id
        )
        session.add(app)
        made.append(app)
        left -= part
    inst.paid_amount += value
    inst.status = installment_status(inst)
    if inst.status == "paid":
        inst.paid_at = now
    return made


def apply_credit_to(
    session: Session,
    *,
    actor: Staff,
    number: str,
    installment: int | str,
    amount: Decimal | str | None = None,
) -> CreditResult:
    """`apply_credit` with the installment by id or name (chat `抵扣 SO-… 验收款`); finance is
    checked before the order is looked up, so nobody else learns whether it exists."""
    from orderdesk.money.invoices import installment_of  # invoices sits above credit's imports

    require_role(actor, "finance")
    order = get_order(session, actor=actor, number=number)
    inst = installment_of(session, order, installment)
    return apply_credit(session, actor=actor, number=number, installment_id=inst.id, amount=amount)
