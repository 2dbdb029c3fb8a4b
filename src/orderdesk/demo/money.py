"""Demo money: payment plans whose installments sum exactly to the contract, invoices, receipts
with allocations, and overdue installments 1-60 days late (relative to today, company time)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from orderdesk.core.formatting import money
from orderdesk.models import (
    Contract,
    Installment,
    Invoice,
    Milestone,
    Order,
    PaymentPlan,
    Project,
    Receipt,
    ReceiptAllocation,
    Staff,
)
from orderdesk.money.plans import cents, compute_amounts, parse_terms

if TYPE_CHECKING:
    from orderdesk.demo.company import DemoWorld
    from orderdesk.demo.orders import Story

OVERDUE_WINDOW = 60  # unpaid installments older than this are shown as paid (issue: 1-60 days)


def build_plan(
    w: DemoWorld,
    order: Order,
    contract: Contract,
    project: Project,
    story: Story,
    *,
    readme_example: bool = False,
) -> PaymentPlan:
    signed = contract.signed_date
    assert signed is not None and project.end_date is not None
    terms = parse_terms(contract.payment_terms)
    # The money engineer's rule: cents half-up, remainder on the last installment.
    amounts = compute_amounts(contract.amount, terms)
    raw_terms = [dict(t) for t in contract.payment_terms]
    plan = PaymentPlan(
        contract=contract, order=order, total=contract.amount, created_at=w.at(signed, 11)
    )
    w.session.add(plan)
    finance = [w.staff["wangfang"], w.staff["chenlu"]]
    last_paid: date | None = None
    for seq, (term, amount) in enumerate(zip(terms, amounts, strict=True), start=1):
        inst = Installment(
            sequence=seq,
            name=term.name,
            trigger=term.trigger,
            trigger_days=term.days,
            percent=term.percent,
            amount=amount,
            paid_amount=Decimal("0.00"),
            invoiced_amount=Decimal("0.00"),
            created_at=w.at(signed, 11),
        )
        inst.due_date = _due_date(w, inst, term.milestone, signed, project, seq, len(terms))
        if readme_example and seq > 1:
            # SO-2026-0001: the second installment 12 days overdue, the rest still to come.
            inst.due_date = w.today - timedelta(days=12 if seq == 2 else -20 * (seq - 2))
        if term.trigger == "on_date" and inst.due_date is not None:
            raw_terms[seq - 1]["date"] = inst.due_date.isoformat()
        plan.installments.append(inst)
        paid = _paid_amount(w, order, inst, readme_example=readme_example)
        _invoice(w, inst, signed, contract, story, finance, force=paid > 0)
        if paid > 0:
            received = _receive(w, order, contract, inst, paid, signed, story, finance)
            last_paid = max(last_paid or received, received)
        if inst.paid_amount == inst.amount:
            inst.status = "paid"
        elif inst.paid_amount > 0:
            inst.status = "partially_paid"
        else:
            inst.status = "due" if inst.due_date else "planned"
    contract.payment_terms = raw_terms
    if order.status == "accepted":
        story.add(w.at(project.end_date, 18), "status", order.owner, "客户验收通过")
    if order.status == "closed":
        closed = w.at((last_paid or w.today) + timedelta(days=3), 18)
        order.closed_at = min(closed, story.now)
        story.add(order.closed_at, "status", order.owner, "款项结清,订单已关闭")
    return plan


def _due_date(
    w: DemoWorld,
    inst: Installment,
    milestone_name: str | None,
    signed: date,
    project: Project,
    seq: int,
    count: int,
) -> date | None:
    assert project.end_date is not None
    if inst.trigger == "on_signing":
        return signed + timedelta(days=inst.trigger_days)
    if inst.trigger == "on_milestone":
        milestones: list[Milestone] = project.milestones
        milestone = next((m for m in milestones if m.name == milestone_name), milestones[-1])
        inst.milestone = milestone
        if milestone.accepted_at is None:
            return None  # becomes due when the milestone is accepted
        return milestone.accepted_at.astimezone(w.tz).date() + timedelta(days=inst.trigger_days)
    span = (project.end_date - signed).days + 30
    return signed + timedelta(days=max(14, round(span * seq / count)))


def _paid_amount(w: DemoWorld, order: Order, inst: Installment, *, readme_example: bool) -> Decimal:
    """How much of an installment has been collected, as the order's story implies."""
    if order.status == "closed":
        return inst.amount
    due = inst.due_date
    if due is None or due >= w.today:
        return Decimal("0.00")
    if readme_example:
        return inst.amount if inst.sequence == 1 else Decimal("0.00")
    if (w.today - due).days > OVERDUE_WINDOW:
        return inst.amount
    roll = w.rng.random()
    if roll < 0.45:
        return inst.amount
    if roll < 0.65:
        return cents(inst.amount * Decimal(w.rng.randint(3, 7)) / 10)
    return Decimal("0.00")


def _invoice(
    w: DemoWorld,
    inst: Installment,
    signed: date,
    contract: Contract,
    story: Story,
    finance: list[Staff],
    *,
    force: bool,
) -> None:
    due = inst.due_date
    if due is None or (due > w.today + timedelta(days=10) and not force):
        return
    issued = min(max(due - timedelta(days=5), signed), w.today)
    issuer = w.rng.choice(finance)
    invoice = Invoice(
        number=w.next_number("FP"),
        amount=inst.amount,
        tax_rate=contract.tax_rate,
        issue_date=issued,
        status="issued",
        issued_by_id=issuer.id,
        created_at=w.at(issued, 15),
    )
    inst.invoices.append(invoice)
    inst.invoiced_amount = inst.amount
    story.add(
        w.at(issued, 15),
        "invoice",
        issuer,
        f"开具发票 {invoice.number} {money(inst.amount)}({inst.name})",
    )


def _receive(
    w: DemoWorld,
    order: Order,
    contract: Contract,
    inst: Installment,
    paid: Decimal,
    signed: date,
    story: Story,
    finance: list[Staff],
) -> date:
    assert inst.due_date is not None
    received = inst.due_date + timedelta(days=w.rng.randint(-3, 10))
    received = min(max(received, signed), w.today)
    clerk = w.rng.choice(finance)
    receipt = Receipt(
        number=w.next_number("RC"),
        customer=order.customer,
        contract=contract,
        amount=paid,
        credit_amount=Decimal("0.00"),
        received_on=received,
        method="bank",
        note=f"{order.number} {inst.name}",
        recorded_by=clerk,
        created_at=w.at(received, 14),
    )
    receipt.allocations.append(ReceiptAllocation(installment=inst, amount=paid))
    w.session.add(receipt)
    inst.paid_amount = paid
    if paid == inst.amount:
        inst.paid_at = w.at(received, 14)
    story.add(
        w.at(received, 14),
        "payment",
        clerk,
        f"收到回款 {money(paid)}({inst.name},{receipt.number})",
        {"receipt": receipt.number, "amount": str(paid)},
    )
    return received
