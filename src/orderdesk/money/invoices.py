"""Invoices (发票) per installment: issue and void. Never more than the installment's amount."""

from __future__ import annotations

import secrets
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.core.errors import Conflict, NotFound, ValidationFailed
from orderdesk.core.formatting import money
from orderdesk.core.locks import lock_row
from orderdesk.core.parsing import parse_decimal
from orderdesk.directory.permissions import require_role
from orderdesk.models import Installment, Invoice, Staff
from orderdesk.money.plans import lock_plan
from orderdesk.money.receipts import parse_amount
from orderdesk.orders import timeline

MAX_TAX_RATE = Decimal("0.5")


def _tax_rate(raw: Decimal | str | None, default: Decimal) -> Decimal:
    if raw is None:
        return default
    if isinstance(raw, float):
        raise ValidationFailed("税率必须是精确数字")
    rate = parse_decimal(str(raw).strip().rstrip("%"))
    if rate is None:
        raise ValidationFailed(f"税率不是有效数字:{str(raw)[:20]}")
    if str(raw).strip().endswith("%") or rate >= 1:
        rate = rate / 100
    if rate < 0 or rate > MAX_TAX_RATE:
        raise ValidationFailed("税率须在 0-50% 之间")
    return rate.quantize(Decimal("0.0001"))


def issue_invoice(
    session: Session,
    *,
    actor: Staff,
    installment_id: int,
    amount: Decimal | str | None = None,
    tax_rate: Decimal | str | None = None,
    issue_date: date | None = None,
    number: str | None = None,
) -> Invoice:
    """Issue an invoice for (part of) an installment; defaults to what is not yet invoiced."""
    require_role(actor, "finance")
    inst = session.get(Installment, installment_id)
    if inst is not None:
        lock_plan(session, inst.plan)  # the invoiced balance is read and written under the lock
    if inst is None or inst.status == "cancelled":
        raise NotFound(f"找不到分期 {installment_id}")
    room = inst.amount - inst.invoiced_amount
    value = parse_amount(amount if amount is not None else room, label="开票金额")
    if value > room:
        raise ValidationFailed(
            f"开票金额 {money(value)} 超过该分期可开票余额 {money(room)}",
            fields={"amount": "exceeds_installment"},
        )
    number = (number or "").strip() or f"INV{clock.now():%Y%m%d}-{secrets.token_hex(3).upper()}"
    if session.scalar(select(Invoice.id).where(Invoice.number == number)) is not None:
        raise Conflict(f"发票号 {number} 已存在")
    contract = inst.plan.contract
    invoice = Invoice(
        number=number[:32],
        installment=inst,
        amount=value,
        tax_rate=_tax_rate(tax_rate, contract.tax_rate),
        issue_date=issue_date or clock.today(clock.company_tz(session)),
        status="issued",
        issued_by_id=actor.id,
    )
    session.add(invoice)
    inst.invoiced_amount += value
    session.flush()
    timeline.record(
        session,
        kind="invoice",
        actor=actor,
        body=f"开具发票 {invoice.number} {money(value)}({inst.name},税率 {invoice.tax_rate:.2%})",
        plain=f"开具发票 {invoice.number}({inst.name})",
        order=inst.plan.order,
        customer_id=contract.customer_id,
        data={"invoice": invoice.number, "installment_id": inst.id, "amount": str(value)},
    )
    return invoice


def void_invoice(session: Session, *, actor: Staff, number: str, reason: str) -> Invoice:
    """Void an issued invoice (with a reason); its amount can be invoiced again."""
    require_role(actor, "finance")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("作废发票必须填写原因", fields={"reason": "required"})
    found = session.scalar(select(Invoice).where(Invoice.number == number.strip()))
    if found is None:
        raise NotFound(f"找不到发票 {number}")
    lock_plan(session, found.installment.plan)
    invoice = lock_row(session, Invoice, found.id)  # a second void waits, then sees "void"
    if invoice is None:
        raise NotFound(f"找不到发票 {number}")
    if invoice.status == "void":
        raise Conflict(f"发票 {invoice.number} 已作废")
    invoice.status = "void"
    invoice.void_reason = reason[:500]
    inst = invoice.installment
    inst.invoiced_amount -= invoice.amount
    session.flush()
    timeline.record(
        session,
        kind="invoice",
        actor=actor,
        body=f"作废发票 {invoice.number} {money(invoice.amount)},原因:{reason}",
        plain=f"作废发票 {invoice.number},原因:{reason}",
        order=inst.plan.order,
        customer_id=inst.plan.contract.customer_id,
        data={"invoice": invoice.number, "void": True, "reason": reason},
    )
    return invoice
