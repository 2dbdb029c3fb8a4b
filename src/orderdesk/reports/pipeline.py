"""Sales pipeline and leaderboard.

- pipeline: opportunities by stage (pipeline order) with count and expected amount; win rate =
  won / (won + lost) over the opportunities closed so far (by count and by amount). Scope: the
  opportunities' own (sales their own, managers their team's, finance / gm all).
- leaderboard: per salesperson, bookings (order amounts of contracts signed in the period) and
  collections (receipt allocations received in the period) over the orders whose money the
  caller may see; ranked by bookings.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orderdesk.directory.opportunities import CLOSED, STAGE_ZH, opportunity_scope
from orderdesk.directory.permissions import money_scope
from orderdesk.models import (
    Contract,
    Installment,
    Opportunity,
    Order,
    PaymentPlan,
    Receipt,
    ReceiptAllocation,
    Staff,
)
from orderdesk.models.customer import OPPORTUNITY_STAGES
from orderdesk.reports.table import Column, Table

ZERO = Decimal("0.00")


def _ratio(part: Decimal, whole: Decimal) -> Decimal | None:
    return (part / whole).quantize(Decimal("0.0001")) if whole else None


def pipeline(session: Session, *, actor: Staff) -> Table:
    stmt = (
        select(
            Opportunity.stage, func.count(), func.coalesce(func.sum(Opportunity.expected_amount), 0)
        )
        .where(opportunity_scope(actor))
        .group_by(Opportunity.stage)
    )
    found = {stage: (n, Decimal(str(amount))) for stage, n, amount in session.execute(stmt)}
    rows = [
        {
            "stage": code,
            "label": STAGE_ZH[code],
            "count": found.get(code, (0, ZERO))[0],
            "expected_amount": found.get(code, (0, ZERO))[1].quantize(ZERO),
        }
        for code in OPPORTUNITY_STAGES
    ]
    won, lost = (found.get(s, (0, ZERO)) for s in CLOSED)
    columns = [
        Column("label", "阶段"),
        Column("count", "商机数"),
        Column("expected_amount", "预计金额", money=True),
    ]
    table = Table("pipeline", "销售漏斗", columns, rows)
    open_rows = [r for r in rows if r["stage"] not in CLOSED]
    table.totals = {
        "count": sum(r["count"] for r in rows),
        "open_amount": sum((r["expected_amount"] for r in open_rows), ZERO),
        "win_rate": _ratio(Decimal(won[0]), Decimal(won[0] + lost[0])),
        "win_rate_amount": _ratio(won[1], won[1] + lost[1]),
    }
    return table


def _per_owner(session: Session, stmt: Any) -> dict[int, Decimal]:
    return {oid: Decimal(str(v)).quantize(ZERO) for oid, v in session.execute(stmt)}


def leaderboard(session: Session, *, actor: Staff, start: date, end: date, label: str) -> Table:
    bookings = (
        select(Order.owner_id, func.sum(Order.amount))
        .join(Contract, Contract.id == Order.contract_id)
        .where(Contract.signed_date >= start, Contract.signed_date < end, money_scope(actor))
        .group_by(Order.owner_id)
    )
    collected = (
        select(Order.owner_id, func.sum(ReceiptAllocation.amount))
        .select_from(ReceiptAllocation)
        .join(Receipt, Receipt.id == ReceiptAllocation.receipt_id)
        .join(Installment, Installment.id == ReceiptAllocation.installment_id)
        .join(PaymentPlan, PaymentPlan.id == Installment.plan_id)
        .join(Order, Order.id == PaymentPlan.order_id)
        .where(
            Receipt.reversed_at.is_(None),
            Receipt.received_on >= start,
            Receipt.received_on < end,
            money_scope(actor),
        )
        .group_by(Order.owner_id)
    )
    booked, got = _per_owner(session, bookings), _per_owner(session, collected)
    ids = set(booked) | set(got)
    names = dict(
        session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(ids))).tuples().all()
    )
    rows: list[dict[str, Any]] = [
        {"label": names[i], "bookings": booked.get(i, ZERO), "collected": got.get(i, ZERO)}
        for i in ids
    ]
    rows.sort(key=lambda r: (-r["bookings"], -r["collected"], r["label"]))
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    columns = [
        Column("rank", "名次"),
        Column("label", "销售"),
        Column("bookings", "签约额", money=True),
        Column("collected", "回款额", money=True),
    ]
    table = Table("leaderboard", f"销售排行榜({label})", columns, rows)
    table.totals = {k: table.column_total(k) for k in ("bookings", "collected")}
    return table
