"""Invoices (发票) per installment: issue, void (作废) and red-letter reversal (红字发票).

Never more than the installment's amount is invoiced (issued invoices only). Fields Chinese
invoicing needs: kind (数电专票 / 数电普票 / 纸质专票 / 纸质普票), tax rate, the buyer's name
and tax id (required on 专票), number and date, and the split of the amount (tax included):
tax = round_half_up(amount * rate / (1 + rate), 2), amount excluding tax = amount - tax, so the
two always add up to the invoiced amount to the cent.
A 数电 invoice cannot be voided (the tax platform has no void): it is cancelled by a red-letter
invoice, which stores the same positive amounts with status "red" and points at the original
(status "reversed"); either way the amount can be invoiced again.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.core.errors import Conflict, NotFound, ValidationFailed
from orderdesk.core.formatting import money
from orderdesk.core.locks import lock_row
from orderdesk.core.parsing import parse_decimal
from orderdesk.directory.permissions import require_role
from orderdesk.directory.staff import staff_with_role
from orderdesk.models import Installment, Invoice, Order, PaymentPlan, Staff
from orderdesk.money.collections import plan_of
from orderdesk.money.messages import invoice_due_card
from orderdesk.money.plans import lock_plan
from orderdesk.money.receipts import parse_amount
from orderdesk.orders import timeline
from orderdesk.orders.service import get_order
from orderdesk.wecom import outbox

MAX_TAX_RATE = Decimal("0.5")
KIND_ZH = {
    "e_special": "数电专票",
    "e_general": "数电普票",
    "paper_special": "纸质专票",
    "paper_general": "纸质普票",
}
# 专票 lets the buyer deduct input VAT: it must name the buyer's tax id.
SPECIAL_KINDS = ("e_special", "paper_special")


@dataclass(frozen=True)
class Buyer:
    name: str | None = None
    tax_id: str | None = None


def tax_split(amount: Decimal, rate: Decimal) -> tuple[Decimal, Decimal]:
    """(amount excluding tax, tax) of a tax-included amount: the tax rounded half-up to cents,
    the rest excluding tax, so that excl + tax == amount exactly."""
    with localcontext() as ctx:
        ctx.prec = 50  # no intermediate rounding before the one rounding to cents
        tax = (amount * rate / (1 + rate)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return amount - tax, tax


def invoice_kind(raw: str | None) -> str:
    """A kind code from the code or its Chinese name (数电普票 when not given)."""
    if raw is None or not raw.strip():
        return "e_general"
    text = raw.strip()
    for code, name in KIND_ZH.items():
        if text in (code, name):
            return code
    raise ValidationFailed(
        f"发票类型须为 {' / '.join(KIND_ZH.values())}", fields={"kind": "invalid"}
    )


def parse_tax_rate(raw: Decimal | str | None, default: Decimal) -> Decimal:
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
    kind: str | None = None,
    buyer: Buyer | None = None,
) -> Invoice:
    """Issue an invoice for (part of) an installment; defaults to what is not yet invoiced.
    The buyer defaults to the contract's customer name."""
    require_role(actor, "finance")
    kind = invoice_kind(kind)
    inst = session.get(Installment, installment_id)
    if inst is not None:
        lock_plan(session, inst.plan)  # the invoiced balance is read and written under the lock
    if inst is None or inst.status == "cancelled":
        raise NotFound(f"找不到分期 {installment_id}")
    room = inst.amount - inst.invoiced_amount
    if room <= 0:
        raise ValidationFailed(
            f"{inst.name} 已全部开票,可开票余额 {money(room)}",
            fields={"amount": "fully_invoiced"},
        )
    value = parse_amount(amount if amount is not None else room, label="开票金额")
    if value > room:
        raise ValidationFailed(
            f"开票金额 {money(value)} 超过该分期可开票余额 {money(room)}",
            fields={"amount": "exceeds_installment"},
        )
    # Numbered by the issue day in the company's time zone (as receipts are by the day received):
    # at 07:00 in Shanghai it is still yesterday in UTC.
    issue_date = issue_date or clock.today(clock.company_tz(session))
    number = (number or "").strip() or f"INV{issue_date:%Y%m%d}-{secrets.token_hex(3).upper()}"
    if session.scalar(select(Invoice.id).where(Invoice.number == number)) is not None:
        raise Conflict(f"发票号 {number} 已存在")
    contract = inst.plan.contract
    buyer = buyer or Buyer()
    buyer = Buyer(buyer.name or contract.buyer_name, buyer.tax_id or contract.buyer_tax_id)
    buyer_name, buyer_tax_id = buyer_fields(buyer, contract.customer.name, kind)
    rate = parse_tax_rate(tax_rate, contract.tax_rate)
    excl, tax = tax_split(value, rate)
    invoice = Invoice(
        number=number[:32],
        installment=inst,
        amount=value,
        tax_rate=rate,
        issue_date=issue_date,
        status="issued",
        issued_by_id=actor.id,
        kind=kind,
        amount_excl_tax=excl,
        tax_amount=tax,
        buyer_name=buyer_name,
        buyer_tax_id=buyer_tax_id,
    )
    session.add(invoice)
    inst.invoiced_amount += value
    session.flush()
    timeline.record(
        session,
        kind="invoice",
        actor=actor,
        body=f"开具{KIND_ZH[kind]} {invoice.number} {money(value)}({inst.name},"
        f"税率 {invoice.tax_rate:.2%},税额 {money(tax)})",
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
    invoice = _lock_invoice(session, number)  # a second void waits, then sees "void"
    if invoice.status != "issued":
        raise Conflict(f"发票 {invoice.number} 已{STATUS_ZH.get(invoice.status, invoice.status)}")
    if invoice.kind.startswith("e_"):
        raise Conflict(f"数电发票不能作废,请开具红字发票冲销 {invoice.number}")
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


STATUS_ZH = {"issued": "开具", "void": "作废", "reversed": "红冲", "red": "是红字发票"}


def buyer_fields(buyer: Buyer, default_name: str, kind: str) -> tuple[str, str | None]:
    """The buyer's (name, tax id) as stored: name defaults, tax id checked (required on 专票)."""
    name = (buyer.name or "").strip()[:200] or default_name
    tax_id = (buyer.tax_id or "").strip().upper()[:32] or None
    if kind in SPECIAL_KINDS and tax_id is None:
        raise ValidationFailed("专票须填写购买方纳税人识别号", fields={"buyer_tax_id": "required"})
    if tax_id is not None and not (15 <= len(tax_id) <= 20 and tax_id.isalnum()):
        raise ValidationFailed(
            "纳税人识别号应为 15-20 位字母或数字", fields={"buyer_tax_id": "invalid"}
        )
    return name, tax_id


def red_letter(
    session: Session, *, actor: Staff, number: str, reason: str, red_number: str | None = None
) -> Invoice:
    """Cancel an issued invoice with a red-letter invoice (红字发票) of the same amounts."""
    require_role(actor, "finance")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("红冲发票必须填写原因", fields={"reason": "required"})
    original = _lock_invoice(session, number)
    if original.status != "issued":
        raise Conflict(
            f"发票 {original.number} 已{STATUS_ZH.get(original.status, original.status)}"
        )
    today = clock.today(clock.company_tz(session))
    red_number = (red_number or "").strip()[:32] or (
        f"RED{today:%Y%m%d}-{secrets.token_hex(3).upper()}"
    )
    if session.scalar(select(Invoice.id).where(Invoice.number == red_number)) is not None:
        raise Conflict(f"发票号 {red_number} 已存在")
    excl, tax = tax_split(original.amount, original.tax_rate)
    red = Invoice(
        number=red_number,
        installment=original.installment,
        amount=original.amount,
        tax_rate=original.tax_rate,
        issue_date=today,
        status="red",
        void_reason=reason[:500],
        issued_by_id=actor.id,
        kind=original.kind,
        amount_excl_tax=original.amount_excl_tax if original.amount_excl_tax is not None else excl,
        tax_amount=original.tax_amount if original.tax_amount is not None else tax,
        buyer_name=original.buyer_name,
        buyer_tax_id=original.buyer_tax_id,
        red_of_id=original.id,
    )
    session.add(red)
    original.status = "reversed"
    inst = original.installment
    inst.invoiced_amount -= original.amount
    session.flush()
    timeline.record(
        session,
        kind="invoice",
        actor=actor,
        body=f"开具红字发票 {red.number} 冲销 {original.number} -{money(original.amount)},"
        f"原因:{reason}",
        plain=f"红字发票冲销 {original.number},原因:{reason}",
        order=inst.plan.order,
        customer_id=inst.plan.contract.customer_id,
        data={"invoice": original.number, "red": red.number, "reason": reason},
    )
    return red


def _lock_invoice(session: Session, number: str) -> Invoice:
    """The invoice, locked after its plan (the fixed lock order)."""
    found = session.scalar(select(Invoice).where(Invoice.number == number.strip()))
    if found is None:
        raise NotFound(f"找不到发票 {number}")
    lock_plan(session, found.installment.plan)
    invoice = lock_row(session, Invoice, found.id)
    if invoice is None:
        raise NotFound(f"找不到发票 {number}")
    return invoice


def issue_for_order(
    session: Session, *, actor: Staff, order_number: str, installment: int | str, **fields: Any
) -> tuple[Order, Installment, Invoice]:
    """Issue an invoice for the installment `installment` (id or name) of `order_number`: what
    the chat command and the API both do. Finance is checked before the order is looked up, so
    nobody else learns whether the order exists."""
    require_finance(actor)
    order = get_order(session, actor=actor, number=order_number)
    inst = installment_of(session, order, installment)
    return order, inst, issue_invoice(session, actor=actor, installment_id=inst.id, **fields)


def require_finance(actor: Staff) -> None:
    """Invoicing is finance's (checked before any installment is looked up)."""
    require_role(actor, "finance")


def installment_of(session: Session, order: Order, ref: int | str) -> Installment:
    """An installment of the order's plan by id or by name (首付款), for the API and chat."""
    plan = plan_of(session, order)
    insts = [i for i in (plan.installments if plan else []) if i.status != "cancelled"]
    for inst in insts:
        if inst.id == ref or (isinstance(ref, str) and inst.name == ref.strip()):
            return inst
    names = "、".join(i.name for i in insts) or "无"
    raise ValidationFailed(
        f"订单 {order.number} 没有分期「{ref}」(现有:{names})", fields={"installment": "unknown"}
    )


POLICY_ZH = {"invoice_first": "先票后款", "payment_first": "先款后票"}


def notify_invoice_due(session: Session, installments: list[Installment]) -> list[str]:
    """先票后款: an installment that just fell due (milestone accepted) is to be invoiced now;
    finance gets a card with the buyer's invoicing details. Returns the outbox keys."""

    finance = [s.userid for s in staff_with_role(session, "finance")]
    keys: list[str] = []
    for inst in installments:
        contract = inst.plan.contract
        room = inst.amount - inst.invoiced_amount
        if contract.invoicing_policy != "invoice_first" or room <= 0 or not finance:
            continue
        order = inst.plan.order
        card = invoice_due_card(
            inst,
            order_number=order.number if order else contract.number,
            buyer_name=contract.buyer_name or contract.customer.name,
            buyer_tax_id=contract.buyer_tax_id,
            amount=room,
            tax_rate=contract.tax_rate,
        )
        key = f"invoice-due:{inst.id}:{inst.due_date}"
        outbox.add(
            session,
            key=key,
            channel="app_message",
            recipient="|".join(finance),
            payload=card,
            order_id=order.id if order else None,
        )
        keys.append(key)
    return keys


@dataclass(frozen=True)
class InvoiceDraft:
    """What an invoice for an installment would be: the figures a form shows before issuing."""

    installment: Installment
    amount: Decimal
    tax_rate: Decimal
    amount_excl_tax: Decimal
    tax_amount: Decimal


def draft_invoice(
    inst: Installment, amount: Decimal | str | None = None, tax_rate: Decimal | str | None = None
) -> InvoiceDraft:
    """The split `issue_invoice` would store for these inputs (same parsing, same rounding);
    raises ValidationFailed on the same bad input."""
    room = inst.amount - inst.invoiced_amount
    value = parse_amount(room if amount is None or amount == "" else amount, label="开票金额")
    rate = parse_tax_rate(
        tax_rate if tax_rate not in (None, "") else None, inst.plan.contract.tax_rate
    )
    excl, tax = tax_split(value, rate)
    return InvoiceDraft(inst, value, rate, excl, tax)


def invoice_forms(
    session: Session, order: Order, plan: PaymentPlan | None = None
) -> list[InvoiceDraft]:
    """One draft per installment that still has something to invoice (its whole remainder at
    the contract's tax rate): the finance page's issue forms. `plan`: when already loaded."""
    plan = plan or plan_of(session, order)
    insts = sorted(plan.installments, key=lambda i: i.sequence) if plan else []
    return [
        draft_invoice(i)
        for i in insts
        if i.status != "cancelled" and i.amount - i.invoiced_amount > 0
    ]
