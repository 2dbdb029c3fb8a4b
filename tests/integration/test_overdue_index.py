"""逾期 reads its ids through the partial index ix_installments_open_plan (20261129_overdue_index):
the rows at its edges (paid, partly paid, due today, no date, cancelled) answer as before, and
the query keeps the shape the index predicate needs on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.models import Installment, Order, PaymentPlan
from orderdesk.money.collections import _overdue_installment_ids, overdue_for
from orderdesk.money.plans import generate_plan
from orderdesk.money.receipts import record_receipt
from orderdesk.runtime import Runtime
from tests.money_world import contract_of, order_with_contract, staff

TODAY = date(2026, 6, 1)
NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
TERMS = [
    {"name": "一期", "percent": "50", "trigger": "on_date", "date": "2026-05-01"},
    {"name": "二期", "percent": "30", "trigger": "on_date", "date": TODAY.isoformat()},
    {"name": "三期", "percent": "20", "trigger": "on_milestone", "milestone": "验收"},
]


def _first_installment(session: Session, number: str) -> Installment:
    return session.scalars(
        select(Installment)
        .join(PaymentPlan)
        .join(Order, Order.id == PaymentPlan.order_id)
        .where(Order.number == number, Installment.sequence == 1)
    ).one()


def test_overdue_edges_through_the_partial_index(rt: Runtime, session: Session) -> None:
    sales = staff(session, "sa", "sales")
    fin = staff(session, "fin1", "finance")
    for number in ("SO-PAID", "SO-PART", "SO-CANC", "SO-OPEN"):
        o = order_with_contract(session, owner=sales, amount="1000.00", terms=TERMS, number=number)
        generate_plan(session, contract=contract_of(o), order=o)
    session.commit()
    with clock.frozen(NOW):
        record_receipt(session, actor=fin, number="SO-PAID", amount="500.00")
        record_receipt(session, actor=fin, number="SO-PART", amount="200.00")
        _first_installment(session, "SO-CANC").status = "cancelled"
        session.commit()
        groups = overdue_for(session, actor=sales)
    items = {(i.order_number, i.installment_name): i.outstanding for g in groups for i in g.items}
    # Paid, cancelled, due today and undated installments are not overdue.
    assert items == {("SO-PART", "一期"): Decimal("300.00"), ("SO-OPEN", "一期"): Decimal("500.00")}
    assert [g.total for g in groups] == [Decimal("500.00"), Decimal("300.00")]
    with clock.frozen(NOW):
        record_receipt(session, actor=fin, number="SO-PART", amount="300.00")
        session.commit()
        assert [g.customer_name for g in overdue_for(session, actor=sales)] == ["客户-SO-OPEN"]


def test_overdue_ids_can_use_the_partial_index(rt: Runtime, session: Session) -> None:
    """The statuses are literals in the statement and the clauses repeat the index predicate:
    with table scans priced out, PostgreSQL answers from ix_installments_open_plan (were the
    predicate not implied, it could not, whatever the price)."""
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        pytest.skip("SQLite without statistics picks its index by rule, not by price")
    sales = staff(session, "sa", "sales")
    stmt = _overdue_installment_ids(sales, TODAY)
    # As sent: the statuses inline (a bound list would hide them from a generic plan).
    sent = str(stmt.compile(bind, compile_kwargs={"render_postcompile": True}))
    assert "IN ('planned', 'due', 'partially_paid')" in sent
    sql = str(stmt.compile(bind, compile_kwargs={"literal_binds": True}))
    conn = session.connection()
    conn.execute(text("SET LOCAL enable_seqscan = off"))
    plan = [row[0] for row in conn.exec_driver_sql(f"EXPLAIN {sql}")]
    assert any("ix_installments_open_plan" in line for line in plan), plan
