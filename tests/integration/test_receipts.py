from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from orderdesk.models import Activity, Installment, Order, OutboxMessage, Receipt
from orderdesk.money.invoices import issue_invoice, void_invoice
from orderdesk.money.plans import generate_plan
from orderdesk.money.receipts import customer_credit, record_receipt, reverse_receipt
from orderdesk.runtime import Runtime
from tests.money_world import contract_of, order_with_contract, project_for, staff

D = Decimal
NOON = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)
THIRDS = [
    {"name": "首付款", "percent": "30", "trigger": "on_date", "date": "2026-02-01"},
    {"name": "进度款", "percent": "30", "trigger": "on_date", "date": "2026-03-01"},
    {"name": "尾款", "percent": "40", "trigger": "on_date", "date": "2026-04-01"},
]


@pytest.fixture
def world(rt: Runtime, session: Session) -> dict:
    fin = staff(session, "fin1", "finance")
    sales = staff(session, "sales1", "sales")
    order = order_with_contract(session, owner=sales, amount="1000.00", terms=THIRDS)
    generate_plan(session, contract=contract_of(order), order=order)
    project_for(session, order, group="prjsoa001")
    session.commit()
    return {"fin": fin, "sales": sales, "order": order}


def insts(session: Session, order: Order) -> list[Installment]:
    plan = contract_of(order).payment_plan
    assert plan is not None
    session.refresh(plan)
    return sorted(plan.installments, key=lambda i: i.sequence)


def test_partial_then_oldest_first_then_credit(world: dict, session: Session) -> None:
    fin, order = world["fin"], world["order"]
    with clock.frozen(NOON):
        r1 = record_receipt(session, actor=fin, number="SO-001", amount=D("200.00"))
        assert [p for _, p in r1.allocations] == [D("200.00")]
        a, b, c = insts(session, order)
        assert (a.paid_amount, a.status) == (D("200.00"), "partially_paid")
        r2 = record_receipt(session, actor=fin, number="so-001", amount="450.00", note="银行")
        assert [(i.name, p) for i, p in r2.allocations] == [
            ("首付款", D("100.00")),
            ("进度款", D("300.00")),
            ("尾款", D("50.00")),
        ]
        assert [i.status for i in (a, b, c)] == ["paid", "paid", "partially_paid"]
        r3 = record_receipt(session, actor=fin, number="SO-001", amount="400.00")
        assert r3.credit == D("50.00") and r3.receipt.credit_amount == D("50.00")
        assert r3.summary.outstanding == D("0.00") and r3.summary.received == D("1000.00")
        session.commit()
        assert customer_credit(session, order.customer_id) == D("50.00")
        # every receipt posted one note into the bound project group
        notes = session.scalars(
            select(OutboxMessage).where(OutboxMessage.idempotency_key.like("receipt-note:%"))
        ).all()
        assert len(notes) == 3 and {n.recipient for n in notes} == {"prjsoa001"}
        assert notes[0].channel == "appchat" and "回款" in notes[0].payload["markdown"]["content"]
        assert session.query(Activity).filter(Activity.body.like("登记回款%")).count() == 3


def test_explicit_allocation_and_reversal_restores(world: dict, session: Session) -> None:
    fin, order = world["fin"], world["order"]
    with clock.frozen(NOON):
        last = insts(session, order)[2]
        res = record_receipt(
            session, actor=fin, number="SO-001", amount="500.00", installment_ids=[last.id]
        )
        assert res.allocations == [(last, D("400.00"))] and res.credit == D("100.00")
        session.commit()
        with pytest.raises(ValidationFailed, match="原因"):
            reverse_receipt(session, actor=fin, receipt_number=res.receipt.number, reason=" ")
        back = reverse_receipt(session, actor=fin, receipt_number=res.receipt.number, reason="错账")
        session.commit()
        assert back.summary.received == D("0.00")
        assert [i.paid_amount for i in insts(session, order)] == [D("0.00")] * 3
        assert insts(session, order)[2].status == "due"
        assert customer_credit(session, order.customer_id) == D("0.00")
        with pytest.raises(Conflict, match="已于"):
            reverse_receipt(session, actor=fin, receipt_number=res.receipt.number, reason="again")


@pytest.mark.parametrize(
    ("amount", "needle"),
    [("0", "大于 0"), ("-5", "大于 0"), ("1.005", "两位小数"), ("abc", "有效数字"), (1.5, "精确")],
)
def test_bad_amounts_change_nothing(
    world: dict, session: Session, amount: object, needle: str
) -> None:
    with clock.frozen(NOON), pytest.raises(ValidationFailed, match=needle):
        record_receipt(session, actor=world["fin"], number="SO-001", amount=amount)  # type: ignore[arg-type]
    session.rollback()
    assert session.query(Receipt).count() == 0


def test_only_finance_and_known_orders(world: dict, session: Session) -> None:
    with clock.frozen(NOON):
        with pytest.raises(PermissionDenied, match="财务"):
            record_receipt(session, actor=world["sales"], number="SO-001", amount="1.00")
        with pytest.raises(NotFound):
            record_receipt(session, actor=world["fin"], number="SO-404", amount="1.00")
        with pytest.raises(ValidationFailed, match="晚于今天"):
            record_receipt(
                session,
                actor=world["fin"],
                number="SO-001",
                amount="1.00",
                received_on=date(2026, 6, 2),
            )


def test_receipt_cancels_pending_reminders_of_paid_installments(
    world: dict, session: Session
) -> None:
    from orderdesk.wecom import outbox

    first = insts(session, world["order"])[0]
    second = insts(session, world["order"])[1]
    for key in (f"dun:{first.id}:7", f"due-soon:{second.id}:1"):
        row = outbox.add(session, key=key, channel="app_message", recipient="sales1", payload={})
        row.next_attempt_at = datetime(2030, 1, 1, tzinfo=UTC)  # waiting for business hours
    session.commit()
    with clock.frozen(NOON):
        record_receipt(session, actor=world["fin"], number="SO-001", amount="300.00")
        session.commit()
    rows = {r.idempotency_key: r.status for r in session.scalars(select(OutboxMessage))}
    assert rows[f"dun:{first.id}:7"] == "dead"
    assert rows[f"due-soon:{second.id}:1"] == "pending"


def test_invoices_cannot_exceed_installment_and_void_frees(world: dict, session: Session) -> None:
    fin = world["fin"]
    first = insts(session, world["order"])[0]
    with clock.frozen(NOON):
        inv = issue_invoice(
            session, actor=fin, installment_id=first.id, amount="200.00", kind="纸质普票"
        )
        assert inv.tax_rate == D("0.0600") and inv.issue_date == date(2026, 6, 1)
        with pytest.raises(ValidationFailed, match="超过"):
            issue_invoice(session, actor=fin, installment_id=first.id, amount="100.01")
        rest = issue_invoice(session, actor=fin, installment_id=first.id, tax_rate="13%")
        assert rest.amount == D("100.00") and rest.tax_rate == D("0.1300")
        assert first.invoiced_amount == D("300.00")
        with pytest.raises(ValidationFailed, match="原因"):
            void_invoice(session, actor=fin, number=inv.number, reason="")
        void_invoice(session, actor=fin, number=inv.number, reason="抬头错误")
        assert first.invoiced_amount == D("100.00")
        with pytest.raises(Conflict):
            void_invoice(session, actor=fin, number=inv.number, reason="again")
        with pytest.raises(PermissionDenied):
            issue_invoice(session, actor=world["sales"], installment_id=first.id)
