"""Finance on the order page: issue an invoice (type, tax rate, the computed tax shown before
issuing), void or red-letter one, reverse a receipt. Recording a receipt (with the duplicate
confirm) is in views_orders. Finance only: the services refuse anyone else, and a refusal
of scope reads like a missing page."""

from __future__ import annotations

from typing import Any

from flask import redirect, url_for
from flask.typing import ResponseReturnValue

from orderdesk.core.errors import DomainError
from orderdesk.core.parsing import parse_day
from orderdesk.money import invoices
from orderdesk.money.receipts import reverse_receipt
from orderdesk.orders.queries import get_order
from orderdesk.web import bp, forms
from orderdesk.web.auth import Page, login_required
from orderdesk.web.views_orders import render_order

INVOICE_FIELDS = {"amount": 24, "tax_rate": 8, "kind": 16, "buyer_name": 200, "buyer_tax_id": 32}


def _back(no: str) -> ResponseReturnValue:
    return redirect(url_for("web.order_detail", no=no))


def order_refused(pg: Page, no: str, exc: DomainError, **extra: Any) -> ResponseReturnValue:
    status = forms.refused(exc)
    return render_order(pg, no, error=exc.message, **extra), status


@bp.post("/m/orders/<no>/invoices")
@login_required
def order_invoice(pg: Page, no: str) -> ResponseReturnValue:
    """试算 shows the split of the figures typed; 开具 issues the invoice."""
    invoices.require_finance(pg.actor)  # before the order is looked up (like the API)
    order = get_order(pg.session, actor=pg.actor, number=no[:32])
    data = forms.fields(INVOICE_FIELDS)
    try:
        inst = invoices.installment_of(pg.session, order, int(forms.text("installment", 12) or 0))
        if forms.text("do", 8) == "preview":
            draft = invoices.draft_invoice(inst, data["amount"], data["tax_rate"])
            return render_order(pg, order.number, preview=draft, asked=data)
        raw_day = forms.text("issue_date", 10)
        invoices.issue_invoice(
            pg.session,
            actor=pg.actor,
            installment_id=inst.id,
            amount=data["amount"],
            tax_rate=data["tax_rate"],
            issue_date=parse_day(raw_day) if raw_day else None,
            number=forms.optional("number", 32),
            kind=data["kind"],
            buyer=invoices.Buyer(data["buyer_name"], data["buyer_tax_id"]),
        )
        pg.session.flush()
    except DomainError as exc:
        return order_refused(pg, order.number, exc)
    return _back(order.number)


@bp.post("/m/invoices/<ino>/<any(void, red):how>")
@login_required
def invoice_cancel(pg: Page, ino: str, how: str) -> ResponseReturnValue:
    """作废 (paper invoices) or 红冲 (a red-letter invoice of the same amounts), with a reason."""
    invoices.require_finance(pg.actor)
    no = forms.text("no", 32)
    reason = forms.text("reason", 500)
    try:
        if how == "void":
            inv = invoices.void_invoice(pg.session, actor=pg.actor, number=ino[:32], reason=reason)
        else:
            inv = invoices.red_letter(pg.session, actor=pg.actor, number=ino[:32], reason=reason)
        pg.session.flush()
    except DomainError as exc:
        return order_refused(pg, no, exc)
    return _back(inv.installment.plan.order.number if inv.installment.plan.order else no)


@bp.post("/m/receipts/<rno>/reverse")
@login_required
def receipt_reverse(pg: Page, rno: str) -> ResponseReturnValue:
    no = forms.text("no", 32)
    try:
        result = reverse_receipt(
            pg.session, actor=pg.actor, receipt_number=rno[:32], reason=forms.text("reason", 500)
        )
        pg.session.flush()
    except DomainError as exc:
        return order_refused(pg, no, exc)
    return _back(result.order.number)
