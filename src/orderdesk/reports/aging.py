"""AR aging report: outstanding installment balances by age, grouped by customer, owner or line.

Buckets by days past the due date on the as-of day: not yet due (0 or less), 1-30, 31-60, 61-90,
91-180, over 180. One GROUP BY query: the buckets are CASE expressions on date boundaries computed
in Python, so the SQL is the same on SQLite and PostgreSQL and no row is fetched one by one.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session

from orderdesk.core.errors import ValidationFailed
from orderdesk.directory.permissions import money_scope
from orderdesk.models import BusinessLine, Customer, Installment, Order, PaymentPlan, Staff
from orderdesk.money.collections import OPEN_STATUSES
from orderdesk.reports.table import Column, Table

# (key, Chinese title, upper bound of days overdue; None = no bound)
BUCKETS: tuple[tuple[str, str, int | None], ...] = (
    ("not_due", "未到期", 0),
    ("d1_30", "1-30天", 30),
    ("d31_60", "31-60天", 60),
    ("d61_90", "61-90天", 90),
    ("d91_180", "91-180天", 180),
    ("d180_plus", "180天以上", None),
)
GROUPINGS = {
    "customer": (Customer.id, Customer.name, "客户"),
    "owner": (Staff.id, Staff.name, "负责人"),
    "business_line": (BusinessLine.id, BusinessLine.name, "业务线"),
}
ZERO = Decimal("0.00")


def _bucket_sums(as_of: date) -> list[ColumnElement[Any]]:
    """SUM(outstanding) per bucket: days overdue <= bound  <=>  due_date >= as_of - bound."""
    outstanding = Installment.amount - Installment.paid_amount
    sums: list[ColumnElement[Any]] = []
    lower: int | None = None  # days bound of the previous bucket
    for key, _title, bound in BUCKETS:
        cond = []
        if bound is not None:
            cond.append(Installment.due_date >= as_of - timedelta(days=bound))
        if lower is not None:
            cond.append(Installment.due_date < as_of - timedelta(days=lower))
        lower = bound
        # NULL, not 0, outside the bucket: sum() skips NULLs; adding a numeric 0 per row costs.
        expr = case((and_(*cond), outstanding), else_=None)
        sums.append(func.coalesce(func.sum(expr), 0).label(key))
    return sums


def ar_aging(session: Session, *, actor: Staff, as_of: date, by: str = "customer") -> Table:
    """Aging rows (largest total first) over the orders whose money `actor` may see."""
    if by not in GROUPINGS:
        raise ValidationFailed("账龄分组只能是 customer、owner 或 business_line")
    key_col, label_col, group_title = GROUPINGS[by]
    stmt = (
        select(key_col.label("key"), label_col.label("label"), *_bucket_sums(as_of))
        .select_from(Installment)
        .join(PaymentPlan, Installment.plan_id == PaymentPlan.id)
        .join(Order, Order.id == PaymentPlan.order_id)
        .join(Customer, Customer.id == Order.customer_id)
        .join(Staff, Staff.id == Order.owner_id)
        .outerjoin(BusinessLine, BusinessLine.id == Order.business_line_id)
        .where(
            Installment.status.in_(OPEN_STATUSES),
            Installment.due_date.is_not(None),
            Installment.amount > Installment.paid_amount,
            money_scope(actor),
        )
        .group_by(key_col, label_col)
    )
    columns = [Column("label", group_title)]
    columns += [Column(k, t, money=True) for k, t, _ in BUCKETS]
    columns.append(Column("total", "合计", money=True))
    rows = []
    for rec in session.execute(stmt).mappings():
        row: dict[str, Any] = {"key": rec["key"], "label": rec["label"] or "未分类"}
        for k, _t, _b in BUCKETS:
            row[k] = Decimal(rec[k]).quantize(ZERO)
        row["total"] = sum((row[k] for k, _t, _b in BUCKETS), ZERO)
        rows.append(row)
    rows.sort(key=lambda r: (-r["total"], r["label"]))
    table = Table("ar-aging", f"应收账龄({as_of.isoformat()})", columns, rows)
    table.totals = {k: table.column_total(k) for k, _t, _b in BUCKETS}
    table.totals["total"] = table.column_total("total")
    return table
