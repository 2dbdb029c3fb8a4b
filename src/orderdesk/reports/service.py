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

REPORTS = ("ar-aging", "revenue")
# What the pages list for each report: its name and the groupings it accepts (first = default).
REPORT_INFO = {
    "ar-aging": ("应收账龄", {code: g[2] for code, g in GROUPINGS.items()}),
    "revenue": ("签约、开票与回款", {"month_line": "月份×业务线"}),
}
# Reports are figures of money: the roles that see some money (sales their own, managers
# their team's, finance / gm / admin all). pm / delivery / presales would only see zeros.
REPORT_ROLES = ("sales", "manager", "finance", "gm", "admin")


def may_run_reports(actor: Staff) -> bool:
    return actor.active and actor.has_role(*REPORT_ROLES)


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
    raise NotFound("没有这个报表")
