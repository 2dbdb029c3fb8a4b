"""Run a report by name: the one entry point of the API, the chat commands, the pages and the
jobs. `REPORTS` is the registry (name -> `Report`: a Chinese title, the group-by values it
accepts and the function that builds its `Table`); iterating it gives the names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.core.clock import company_tz
from orderdesk.core.errors import NotFound, ValidationFailed
from orderdesk.models import Staff
from orderdesk.reports.aging import GROUPINGS, ar_aging
from orderdesk.reports.collection import collection
from orderdesk.reports.months import parse_period
from orderdesk.reports.pipeline import leaderboard, pipeline
from orderdesk.reports.profitability import GROUPS as PROFIT_GROUPS
from orderdesk.reports.profitability import profitability
from orderdesk.reports.revenue import revenue_by_month
from orderdesk.reports.table import Table
from orderdesk.reports.tickets import ticket_aging, ticket_sla
from orderdesk.reports.utilisation import GROUPS as UTIL_GROUPS
from orderdesk.reports.utilisation import utilisation


@dataclass(frozen=True)
class Params:
    """What a caller may pass; each report reads the fields it understands."""

    today: date
    period: str | None = None
    group_by: str | None = None
    as_of: date | None = None
    project: str | None = None

    def span(self) -> tuple[str, date, date]:
        text = self.period or self.today.strftime("%Y-%m")
        start, end = parse_period(text)
        return text, start, end

    def grouping(self, allowed: tuple[str, ...], default: str, message: str) -> str:
        by = self.group_by or default
        if by not in allowed:
            raise ValidationFailed(message)
        return by


Runner = Callable[[Session, Staff, Params], Table]


@dataclass(frozen=True)
class Report:
    title: str
    group_by: tuple[str, ...]
    run: Runner
    params: tuple[str, ...] = ("period",)


def _aging(s: Session, actor: Staff, p: Params) -> Table:
    by = p.grouping(tuple(GROUPINGS), "customer", "账龄分组只能是 customer、owner 或 business_line")
    return ar_aging(s, actor=actor, as_of=p.as_of or p.today, by=by)


def _revenue(s: Session, actor: Staff, p: Params) -> Table:
    p.grouping(("month_line",), "month_line", "收入报表按 月份×业务线 分组(group_by=month_line)")
    text, start, end = p.span()
    return revenue_by_month(s, actor=actor, start=start, end=end, title=f"签约、开票与回款({text})")


def _collection(s: Session, actor: Staff, p: Params) -> Table:
    text, start, end = p.span()
    return collection(s, actor=actor, start=start, end=end, label=text)


def _profitability(s: Session, actor: Staff, p: Params) -> Table:
    by = p.grouping(PROFIT_GROUPS, "project", "项目利润可按 project 或 business_line 汇总")
    return profitability(s, actor=actor, by=by, project=p.project)


def _utilisation(s: Session, actor: Staff, p: Params) -> Table:
    by = p.grouping(UTIL_GROUPS, "person", "利用率可按 person 或 department 汇总")
    text, start, end = p.span()
    table = utilisation(s, actor=actor, start=start, end=end, as_of=p.as_of or p.today, by=by)
    table.title = f"工时利用率({text},{table.meta['working_days']} 个工作日)"
    return table


def _ticket_aging(s: Session, actor: Staff, p: Params) -> Table:
    return ticket_aging(s, actor=actor, now=clock.now())


def _ticket_sla(s: Session, actor: Staff, p: Params) -> Table:
    text, start, end = p.span()
    return ticket_sla(s, actor=actor, start=start, end=end, title=f"工单 SLA 达成率({text})")


def _pipeline(s: Session, actor: Staff, p: Params) -> Table:
    return pipeline(s, actor=actor)


def _leaderboard(s: Session, actor: Staff, p: Params) -> Table:
    text, start, end = p.span()
    return leaderboard(s, actor=actor, start=start, end=end, label=text)


REPORTS: dict[str, Report] = {
    "ar-aging": Report("应收账龄", tuple(GROUPINGS), _aging, ("as_of",)),
    "revenue": Report("签约、开票与回款", ("month_line",), _revenue),
    "collection": Report("回款率与 DSO", (), _collection),
    "profitability": Report("项目利润", PROFIT_GROUPS, _profitability, ("project",)),
    "utilisation": Report("工时利用率", UTIL_GROUPS, _utilisation, ("period", "as_of")),
    "pipeline": Report("销售漏斗", (), _pipeline, ()),
    "leaderboard": Report("销售排行榜", (), _leaderboard),
    # Issue 15: after-sales tickets (reports/tickets.py).
    "ticket-aging": Report("售后工单账龄", (), _ticket_aging, ()),
    "ticket-sla": Report("工单 SLA 达成率", (), _ticket_sla),
}

_GROUP_LABELS = {
    **{code: g[2] for code, g in GROUPINGS.items()},
    "month_line": "月份×业务线",
    "project": "按项目",
    "business_line": "按业务线",
    "person": "按人员",
    "department": "按部门",
}
# What the pages list for each report: its name and the groupings it accepts (first = default).
REPORT_INFO = {
    name: (r.title, {code: _GROUP_LABELS.get(code, code) for code in r.group_by})
    for name, r in REPORTS.items()
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
    project: str | None = None,
) -> Table:
    """The report `name` over what `actor` may see; bad parameters raise ValidationFailed."""
    report = REPORTS.get(name)
    if report is None:
        raise NotFound("没有这个报表")
    if group_by is not None and group_by not in report.group_by:
        # One rule for every report: an unknown grouping is refused, never silently ignored.
        choices = "、".join(report.group_by) or "无"
        raise ValidationFailed(f"{report.title}的分组只能是:{choices}")
    today = clock.today(company_tz(session))
    params = Params(today, period=period, group_by=group_by, as_of=as_of, project=project)
    return report.run(session, actor, params)


def last_month(today: date) -> str:
    return (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
