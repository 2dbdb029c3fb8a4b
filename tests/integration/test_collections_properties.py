"""Property tests: over random sequences of money operations the books always balance."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.core.errors import DomainError
from orderdesk.models import Contract, Invoice, Receipt, ReceiptAllocation
from orderdesk.money.collections import money_summary
from orderdesk.money.invoices import issue_invoice, void_invoice
from orderdesk.money.plans import generate_plan
from orderdesk.money.receipts import customer_credit, record_receipt, reverse_receipt
from orderdesk.runtime import Runtime
from tests.money_world import contract_of, order_with_contract, staff

D = Decimal
NOON = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)
_seq = itertools.count(1)

cents = st.integers(min_value=1, max_value=120_000).map(lambda c: D(c) / 100)
ops = st.lists(
    st.one_of(
        st.tuples(st.just("pay"), cents, st.integers(0, 3)),
        st.tuples(st.just("reverse"), st.integers(0, 20), st.integers(0, 3)),
        st.tuples(st.just("invoice"), cents, st.integers(0, 3)),
        st.tuples(st.just("void"), st.integers(0, 20), st.integers(0, 3)),
        st.tuples(st.just("amend"), cents, st.integers(0, 3)),
    ),
    min_size=1,
    max_size=10,
)
TERMS = [
    {"name": "首付", "amount": "100.00", "trigger": "on_date", "date": "2026-01-10"},
    {"name": "二期", "percent": "33.3333", "trigger": "on_date", "date": "2026-02-10"},
    {"name": "三期", "percent": "33.3333", "trigger": "on_date", "date": "2026-03-10"},
    {"name": "尾款", "percent": "33.3334", "trigger": "on_milestone", "milestone": "验收"},
]


def check_books(session: Session, contract: Contract) -> None:
    session.flush()
    plan = contract.payment_plan
    assert plan is not None
    insts = plan.installments
    assert sum(i.amount for i in insts) == contract.amount == plan.total
    live_receipts = session.scalars(
        select(Receipt).where(Receipt.contract_id == contract.id, Receipt.reversed_at.is_(None))
    ).all()
    allocated = sum((a.amount for r in live_receipts for a in r.allocations), D("0"))
    credit = sum((r.credit_amount for r in live_receipts), D("0"))
    assert allocated + credit == sum((r.amount for r in live_receipts), D("0"))
    assert sum(i.paid_amount for i in insts) == allocated
    for inst in insts:
        assert D("0") <= inst.paid_amount <= inst.amount
        assert inst.paid_amount + inst.outstanding == inst.amount
        live = session.scalar(
            select(func.coalesce(func.sum(ReceiptAllocation.amount), 0))
            .join(Receipt)
            .where(ReceiptAllocation.installment_id == inst.id, Receipt.reversed_at.is_(None))
        )
        assert D(str(live)) == inst.paid_amount
        issued = sum((v.amount for v in inst.invoices if v.status == "issued"), D("0"))
        assert issued == inst.invoiced_amount <= inst.amount
        assert inst.status == ("paid" if inst.paid_amount == inst.amount else inst.status)
    order = plan.order
    assert order is not None
    summary = money_summary(session, order, today=NOON.date())
    assert summary.total == summary.received + summary.outstanding == contract.amount
    assert customer_credit(session, contract.customer_id) == credit


@settings(
    max_examples=12,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=ops)
def test_random_money_operations_keep_the_books_balanced(
    rt: Runtime, ops: list[tuple[str, Decimal | int, int]]
) -> None:
    n = next(_seq)
    with rt.db.Session() as session, clock.frozen(NOON):
        fin = staff(session, f"fin{n}", "finance")
        owner = staff(session, f"own{n}", "sales")
        order = order_with_contract(
            session, owner=owner, amount="1000.00", terms=TERMS, number=f"SO-P{n}"
        )
        contract = contract_of(order)
        generate_plan(session, contract=contract, order=order)
        receipts: list[str] = []
        invoices: list[str] = []
        for op, value, k in ops:
            try:
                with session.begin_nested():
                    if op == "pay":
                        plan = contract.payment_plan
                        assert plan is not None
                        ids = [plan.installments[k].id] if k == 3 else None
                        res = record_receipt(
                            session,
                            actor=fin,
                            number=order.number,
                            amount=str(value),
                            installment_ids=ids,
                        )
                        receipts.append(res.receipt.number)
                    elif op == "reverse" and receipts:
                        number = receipts[int(value) % len(receipts)]
                        reverse_receipt(session, actor=fin, receipt_number=number, reason="测试")
                    elif op == "invoice":
                        plan = contract.payment_plan
                        assert plan is not None
                        inv = issue_invoice(
                            session,
                            actor=fin,
                            installment_id=plan.installments[k].id,
                            amount=str(value),
                            kind="paper_general",  # voided below: paper only (数电: red letter)
                        )
                        invoices.append(inv.number)
                    elif op == "void" and invoices:
                        number = invoices[int(value) % len(invoices)]
                        void_invoice(session, actor=fin, number=number, reason="测试")
                    elif op == "amend":
                        contract.amount = D("1000.00") + D(value) * k
                        generate_plan(session, contract=contract, order=order)
            except DomainError:
                pass  # refused operations must leave the books exactly as they were
            session.expire_all()
            check_books(session, contract)
        session.rollback()


def test_invoice_count_is_bounded_by_installment(rt: Runtime) -> None:
    # A deterministic companion: issuing in pieces stops exactly at the installment amount.
    with rt.db.Session() as session, clock.frozen(NOON):
        fin = staff(session, "finx", "finance")
        owner = staff(session, "ownx", "sales")
        order = order_with_contract(session, owner=owner, amount="10.00", number="SO-X")
        plan = generate_plan(session, contract=contract_of(order), order=order)
        inst = plan.installments[0]
        for _ in range(3):
            issue_invoice(session, actor=fin, installment_id=inst.id, amount="3.33")
        issue_invoice(session, actor=fin, installment_id=inst.id)
        assert session.scalar(select(func.count(Invoice.id))) == 4
        assert inst.invoiced_amount == D("10.00")
        session.rollback()
