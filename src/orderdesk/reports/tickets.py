"""After-sales ticket reports, over the tickets the caller may see (`tickets.ticket_scope`).

- ticket-aging: open tickets by priority and age (days since creation) in buckets;
- ticket-sla: SLA hit rate by month of creation (company time) and business line: of the tickets
  whose outcome is known (resolved or closed, or already breached), the share that met every
  target. One GROUP BY query each; bucket bounds are computed in Python so the SQL is the same
  on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.delivery.tickets import ticket_scope
from orderdesk.models import BusinessLine, Staff, Ticket
from orderdesk.models.ticket import OPEN_TICKET_STATUSES, PRIORITIES
from orderdesk.reports.table import Column, Table

# (key, Chinese title, upper bound of age in days; None = no bound)
AGE_BUCKETS: tuple[tuple[str, str, int | None], ...] = (
    ("d0_1", "1天内", 1),
    ("d1_3", "1-3天", 3),
    ("d3_7", "3-7天", 7),
    ("d7_30", "7-30天", 30),
    ("d30_plus", "30天以上", None),
)


def _age_counts(now: datetime) -> list[ColumnElement[Any]]:
    """COUNT per bucket: age <= bound days  <=>  created_at >= now - bound."""
    sums: list[ColumnElement[Any]] = []
    lower: int | None = None
    for key, _title, bound in AGE_BUCKETS:
        cond = []
        if bound is not None:
            cond.append(Ticket.created_at >= now - timedelta(days=bound))
        if lower is not None:
            cond.append(Ticket.created_at < now - timedelta(days=lower))
        lower = bound
        sums.append(func.coalesce(func.sum(case((and_(*cond), 1), else_=0)), 0).label(key))
    return sums


def ticket_aging(session: Session, *, actor: Staff, now: datetime) -> Table:
    stmt = (
        select(Ticket.priority, *_age_counts(now))
        .where(Ticket.status.in_(OPEN_TICKET_STATUSES), ticket_scope(actor))
        .group_by(Ticket.priority)
    )
    found = {r[0]: r[1:] for r in session.execute(stmt)}
    keys = [k for k, _, _ in AGE_BUCKETS]
    rows = []
    for priority in PRIORITIES:
        counts = [int(v) for v in found.get(priority, [0] * len(keys))]
        rows.append(
            {"priority": priority, **dict(zip(keys, counts, strict=True)), "total": sum(counts)}
        )
    columns = [Column("priority", "优先级")]
    columns += [Column(k, t) for k, t, _ in AGE_BUCKETS]
    columns.append(Column("total", "合计"))
    table = Table("ticket-aging", "未完成工单账龄(按优先级)", columns, rows)
    table.totals = {k: sum(r[k] for r in rows) for k in [*keys, "total"]}
    return table


def _month(session: Session) -> ColumnElement[str]:
    """'YYYY-MM' of created_at in the company time zone, in SQL."""
    tz = clock.company_tz(session)
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone(tz.key, Ticket.created_at), "YYYY-MM")
    # SQLite stores UTC text: shift by the zone's offset (exact for zones without DST).
    offset = datetime.now(tz).utcoffset() or timedelta(0)
    return func.strftime("%Y-%m", Ticket.created_at, f"{int(offset.total_seconds())} seconds")


def _rate(met: int, decided: int) -> Decimal | None:
    return (Decimal(met) / Decimal(decided)).quantize(Decimal("0.0001")) if decided else None


def ticket_sla(session: Session, *, actor: Staff, start: date, end: date, title: str) -> Table:
    tz = clock.company_tz(session)
    since = datetime.combine(start, time(0), tz).astimezone(UTC)
    until = datetime.combine(end, time(0), tz).astimezone(UTC)
    decided = or_(Ticket.status.in_(("resolved", "closed")), Ticket.breached.is_(True))
    month = _month(session)
    stmt = (
        select(
            month.label("month"),
            Ticket.business_line_id,
            func.count(Ticket.id),
            func.sum(case((decided, 1), else_=0)),
            func.sum(case((Ticket.breached.is_(True), 1), else_=0)),
        )
        .where(Ticket.created_at >= since, Ticket.created_at < until, ticket_scope(actor))
        .group_by(month, Ticket.business_line_id)
    )
    lines = dict(session.execute(select(BusinessLine.id, BusinessLine.name)).tuples().all())
    rows = []
    for m, line, total, done, breached in session.execute(stmt):
        done, breached = int(done or 0), int(breached or 0)
        rows.append(
            {
                "month": m,
                "business_line": lines.get(line, "未分类"),
                "tickets": int(total),
                "decided": done,
                "met": done - breached,
                "breached": breached,
                "hit_rate": _rate(done - breached, done),
            }
        )
    rows.sort(key=lambda r: (r["month"], r["business_line"]))
    columns = [Column("month", "月份"), Column("business_line", "业务线")]
    columns += [Column("tickets", "工单数"), Column("decided", "已有结果"), Column("met", "达标")]
    columns += [Column("breached", "超时"), Column("hit_rate", "SLA 达成率")]
    table = Table("ticket-sla", title, columns, rows)
    totals = {k: sum(r[k] for r in rows) for k in ("tickets", "decided", "met", "breached")}
    table.totals = {**totals, "hit_rate": _rate(totals["met"], totals["decided"])}
    return table
