"""Run a report by name: the one entry point of the API, the chat commands and the jobs."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.core.clock import company_tz
from orderdesk.core.errors import NotFound, ValidationFailed
from orderdesk.models import Staff
from orderdesk.reports.aging import GROUPINGS, ar_aging
from orderdesk.reports.months import parse_period
from orderdesk.reports.revenue import revenue_by_month
from orderdesk.reports.table import Table
from orderdesk.reports.tickets import ticket_aging, ticket_sla

REPORTS: tuple[str, ...] = ("ar-aging", "revenue")
# Issue 15: after-sales tickets (reports/tickets.py).
REPORTS += ("ticket-aging", "ticket-sla")


def run_report(
    session: Session,
    *,
    actor: Staff,
    name: str,
    period: str | None = None,
    group_by: str | None = None,
    as_of: date | None = None,
) -> Table:
    """The report `name` over what `actor` may see; bad parameters raise ValidationFailed."""
    today = clock.today(company_tz(session))
    if name == "ar-aging":
        by = group_by or "customer"
        if by not in GROUPINGS:
            raise ValidationFailed("账龄分组只能是 customer、owner 或 business_line")
        return ar_aging(session, actor=actor, as_of=as_of or today, by=by)
    if name == "revenue":
        if group_by not in (None, "month_line"):
            raise ValidationFailed("收入报表按 月份×业务线 分组(group_by=month_line)")
        text = period or today.strftime("%Y-%m")
        start, end = parse_period(text)
        return revenue_by_month(
            session, actor=actor, start=start, end=end, title=f"签约、开票与回款({text})"
        )
    if name in ("ticket-aging", "ticket-sla"):
        return _ticket_report(session, actor=actor, name=name, period=period, group_by=group_by)
    raise NotFound("没有这个报表")


def _ticket_report(
    session: Session, *, actor: Staff, name: str, period: str | None, group_by: str | None
) -> Table:
    if group_by is not None:
        raise ValidationFailed("工单报表没有分组参数(ticket-sla 按 月份×业务线)")
    if name == "ticket-aging":
        return ticket_aging(session, actor=actor, now=clock.now())
    text = period or clock.today(company_tz(session)).strftime("%Y-%m")
    start, end = parse_period(text)
    return ticket_sla(session, actor=actor, start=start, end=end, title=f"工单 SLA 达成率({text})")
