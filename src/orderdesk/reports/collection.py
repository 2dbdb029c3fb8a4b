"""Collection rate and DSO by month.

- collection rate = collected / due in the month (the revenue report's figures, summed over
  the business lines);
- receivable at the month's end = what is still open today of the installments that had
  fallen due by then (paid amounts as they stand now: the ledger keeps no history of balances);
- DSO (days sales outstanding) = receivable at the end / invoiced in the period x days in it;
  None when nothing was invoiced.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orderdesk.directory.permissions import money_scope
from orderdesk.models import Installment, Order, PaymentPlan, Staff
from orderdesk.money.collections import OPEN_STATUSES
from orderdesk.reports.revenue import revenue_by_month
from orderdesk.reports.table import Column, Table

ZERO = Decimal("0.00")


def receivable_at(session: Session, actor: Staff, end: date) -> Decimal:
    """Open balance of the installments due before `end` (exclusive)."""
    stmt = (
        select(func.coalesce(func.sum(Installment.amount - Installment.paid_amount), 0))
        .join(PaymentPlan, PaymentPlan.id == Installment.plan_id)
        .join(Order, Order.id == PaymentPlan.order_id)
        .where(
            Installment.status.in_(OPEN_STATUSES),
            Installment.due_date < end,
            money_scope(actor),
        )
    )
    return Decimal(str(session.scalar(stmt))).quantize(ZERO)


def dso(receivable: Decimal, invoiced: Decimal, days: int) -> Decimal | None:
    return (receivable / invoiced * days).quantize(Decimal("0.1")) if invoiced else None


def _rate(collected: Decimal, due: Decimal) -> Decimal | None:
    return (collected / due).quantize(Decimal("0.0001")) if due else None


def _month_bounds(month: str) -> tuple[date, date]:
    year, mon = int(month[:4]), int(month[5:7])
    return date(year, mon, 1), date(year + mon // 12, mon % 12 + 1, 1)


def collection(session: Session, *, actor: Staff, start: date, end: date, label: str) -> Table:
    revenue = revenue_by_month(session, actor=actor, start=start, end=end, title=label)
    months: dict[str, dict[str, Any]] = {}
    for r in revenue.rows:
        m = months.setdefault(r["month"], {k: ZERO for k in ("due", "collected", "invoiced")})
        for k in ("due", "collected", "invoiced"):
            m[k] += r[k]
    rows = []
    for month in sorted(months):
        m = months[month]
        first, after = _month_bounds(month)
        ar = receivable_at(session, actor, after)
        rows.append(
            {"month": month, **m, "collection_rate": _rate(m["collected"], m["due"])}
            | {"receivable": ar, "dso": dso(ar, m["invoiced"], (after - first).days)}
        )
    columns = [
        Column("month", "月份"),
        Column("due", "应收额", money=True),
        Column("collected", "回款额", money=True),
        Column("collection_rate", "回款率"),
        Column("invoiced", "开票额", money=True),
        Column("receivable", "期末应收余额", money=True),
        Column("dso", "DSO(天)"),
    ]
    table = Table("collection", f"回款率与 DSO({label})", columns, rows)
    totals: dict[str, Any] = {k: table.column_total(k) for k in ("due", "collected", "invoiced")}
    totals["collection_rate"] = _rate(totals["collected"], totals["due"])
    totals["receivable"] = receivable_at(session, actor, end)
    totals["dso"] = dso(totals["receivable"], totals["invoiced"], (end - start).days)
    table.totals = totals
    return table
