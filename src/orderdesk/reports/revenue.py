"""Bookings (签约额), invoiced (开票额), collected (回款额) and due by month x business line.

- bookings: order amounts of orders whose contract was signed in the month;
- invoiced: issued invoices by issue date;
- collected: receipt allocations of receipts not reversed, by the day received (money parked as
  customer credit belongs to no order, hence to no line, and is not counted);
- due: installment amounts (not cancelled) falling due in the month;
- collection rate = collected / due of the same month (None when nothing fell due).
Four GROUP BY queries, each scoped to the orders whose money the caller may see.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from orderdesk.directory.permissions import money_scope
from orderdesk.models import (
    BusinessLine,
    Contract,
    Installment,
    Invoice,
    Order,
    PaymentPlan,
    Receipt,
    ReceiptAllocation,
    Staff,
)
from orderdesk.reports.months import month_of
from orderdesk.reports.table import Column, Table

ZERO = Decimal("0.00")
MEASURES = (
    ("bookings", "签约额"),
    ("invoiced", "开票额"),
    ("collected", "回款额"),
    ("due", "应收额"),
)


def _grouped(session: Session, stmt: Select[Any], day: Any, actor: Staff) -> Select[Any]:
    month = month_of(session, day)
    return (
        stmt.add_columns(month.label("month"), Order.business_line_id.label("line"))
        .where(money_scope(actor))
        .group_by(month, Order.business_line_id)
    )


def _queries(session: Session, actor: Staff, start: date, end: date) -> dict[str, Select[Any]]:
    def plan_join(stmt: Select[Any]) -> Select[Any]:
        return stmt.join(PaymentPlan, Installment.plan_id == PaymentPlan.id).join(
            Order, Order.id == PaymentPlan.order_id
        )

    bookings = (
        select(func.sum(Order.amount).label("amount"))
        .join(Contract, Contract.id == Order.contract_id)
        .where(Contract.signed_date >= start, Contract.signed_date < end)
    )
    invoiced = plan_join(
        select(func.sum(Invoice.amount).label("amount"))
        .select_from(Invoice)
        .join(Installment, Installment.id == Invoice.installment_id)
    ).where(Invoice.status == "issued", Invoice.issue_date >= start, Invoice.issue_date < end)
    collected = plan_join(
        select(func.sum(ReceiptAllocation.amount).label("amount"))
        .select_from(ReceiptAllocation)
        .join(Receipt, Receipt.id == ReceiptAllocation.receipt_id)
        .join(Installment, Installment.id == ReceiptAllocation.installment_id)
    ).where(Receipt.reversed_at.is_(None), Receipt.received_on >= start, Receipt.received_on < end)
    due = plan_join(
        select(func.sum(Installment.amount).label("amount")).select_from(Installment)
    ).where(
        Installment.status != "cancelled", Installment.due_date >= start, Installment.due_date < end
    )
    days = {
        "bookings": (bookings, Contract.signed_date),
        "invoiced": (invoiced, Invoice.issue_date),
        "collected": (collected, Receipt.received_on),
        "due": (due, Installment.due_date),
    }
    return {k: _grouped(session, q, day, actor) for k, (q, day) in days.items()}


def _rate(collected: Decimal, due: Decimal) -> Decimal | None:
    return (collected / due).quantize(Decimal("0.0001")) if due else None


def revenue_by_month(
    session: Session, *, actor: Staff, start: date, end: date, title: str
) -> Table:
    """One row per (month, business line) with any figure in [start, end)."""
    line_rows = session.execute(
        select(BusinessLine.id, BusinessLine.name).order_by(BusinessLine.id)
    )
    lines = dict(line_rows.tuples().all())
    cells: dict[tuple[str, int | None], dict[str, Any]] = {}
    for measure, stmt in _queries(session, actor, start, end).items():
        for amount, month, line in session.execute(stmt):
            row = cells.setdefault(
                (month, line),
                {"month": month, "business_line": lines.get(line, "未分类")}
                | {k: ZERO for k, _ in MEASURES},
            )
            row[measure] = Decimal(amount or 0).quantize(ZERO)
    rows = sorted(cells.values(), key=lambda r: (r["month"], r["business_line"]))
    for row in rows:
        row["collection_rate"] = _rate(row["collected"], row["due"])
    columns = [Column("month", "月份"), Column("business_line", "业务线")]
    columns += [Column(k, t, money=True) for k, t in MEASURES]
    columns.append(Column("collection_rate", "回款率"))
    table = Table("revenue", title, columns, rows, meta={"line_order": list(lines.values())})
    table.totals = {k: table.column_total(k) for k, _ in MEASURES}
    table.totals["collection_rate"] = _rate(table.totals["collected"], table.totals["due"])
    return table
