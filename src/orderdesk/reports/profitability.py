"""Project profitability: contract amount excluding tax - labour cost - project expenses = margin.

- revenue (ex tax): the order amount net of its contract's VAT rate (split as the journal does);
- labour: hours x the person's cost rate (Staff.hourly_cost_rate when set, else the highest
  rate of their roles in the `reporting` config);
- expenses: the project's recorded expenses (`project_expenses`);
- budgeted vs logged hours (projects.budget_hours).
Project to date (every hour and expense so far), over the projects whose money the caller may
see (money_scope: sales their own, managers their team's, finance / gm all). Three GROUP BY
queries; the per-person rates are applied in Python to (project, person) sums.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orderdesk.config import reporting
from orderdesk.core.errors import ValidationFailed
from orderdesk.directory.permissions import money_scope
from orderdesk.exports.journal import split_tax
from orderdesk.models import (
    BusinessLine,
    Contract,
    Order,
    Project,
    ProjectExpense,
    Staff,
    StaffRole,
    TimeEntry,
)
from orderdesk.reports.table import Column, Table

ZERO = Decimal("0.00")
MONEY = ("revenue", "labour_cost", "expenses", "margin")
GROUPS = ("project", "business_line")


def _projects(session: Session, actor: Staff, code: str | None) -> list[Any]:
    stmt = (
        select(
            Project.id,
            Project.code,
            Project.name,
            Project.budget_hours,
            Order.amount,
            func.coalesce(Contract.tax_rate, 0).label("tax_rate"),
            func.coalesce(BusinessLine.name, "未分类").label("line"),
        )
        .join(Order, Order.id == Project.order_id)
        .outerjoin(Contract, Contract.id == Order.contract_id)
        .outerjoin(BusinessLine, BusinessLine.id == Order.business_line_id)
        .where(money_scope(actor))
        .order_by(Project.code)
    )
    if code:
        stmt = stmt.where((Project.code == code.upper()) | (Order.number == code.upper()))
    return list(session.execute(stmt).all())


def _rates(
    session: Session, staff_ids: set[int], cfg: reporting.ReportingConfig
) -> dict[int, Decimal]:
    """staff id -> hourly cost: their own rate when set, else their roles' configured rate."""
    roles: dict[int, list[str]] = defaultdict(list)
    for sid, role in session.execute(
        select(StaffRole.staff_id, StaffRole.role).where(StaffRole.staff_id.in_(staff_ids))
    ):
        roles[sid].append(role)
    own = session.execute(
        select(Staff.id, Staff.hourly_cost_rate).where(Staff.id.in_(staff_ids))
    ).tuples()
    return {sid: rate if rate and rate > 0 else cfg.role_rate(roles[sid]) for sid, rate in own}


Sums = dict[int, Decimal]


def _labour(session: Session, ids: list[int], cfg: reporting.ReportingConfig) -> tuple[Sums, Sums]:
    """(project id -> labour cost, project id -> hours logged)."""
    sums = session.execute(
        select(TimeEntry.project_id, TimeEntry.staff_id, func.sum(TimeEntry.hours))
        .where(TimeEntry.project_id.in_(ids))
        .group_by(TimeEntry.project_id, TimeEntry.staff_id)
    ).all()
    rates = _rates(session, {sid for _p, sid, _h in sums}, cfg)
    cost: dict[int, Decimal] = defaultdict(lambda: ZERO)
    hours: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for pid, sid, total in sums:
        total = Decimal(str(total))
        hours[pid] += total
        cost[pid] += (total * rates.get(sid, ZERO)).quantize(ZERO)
    return cost, hours


def _expenses(session: Session, ids: list[int]) -> dict[int, Decimal]:
    stmt = (
        select(ProjectExpense.project_id, func.sum(ProjectExpense.amount))
        .where(ProjectExpense.project_id.in_(ids))
        .group_by(ProjectExpense.project_id)
    )
    return {pid: Decimal(str(total)).quantize(ZERO) for pid, total in session.execute(stmt)}


def margin_rate(margin: Decimal, revenue: Decimal) -> Decimal | None:
    return (margin / revenue).quantize(Decimal("0.0001")) if revenue else None


def _row(p: Any, cost: Sums, hours: Sums, expenses: Sums) -> dict[str, Any]:
    revenue, _tax = split_tax(Decimal(p.amount), Decimal(str(p.tax_rate)))
    row: dict[str, Any] = {
        "code": p.code,
        "label": p.name,
        "business_line": p.line,
        "revenue": revenue,
        "labour_cost": cost[p.id],
        "expenses": expenses.get(p.id, ZERO),
        "budget_hours": p.budget_hours,
        "logged_hours": hours[p.id].quantize(ZERO),
    }
    row["margin"] = row["revenue"] - row["labour_cost"] - row["expenses"]
    row["margin_rate"] = margin_rate(row["margin"], row["revenue"])
    return row


def _by_line(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    lines: dict[str, dict[str, Any]] = {}
    for r in rows:
        acc = lines.setdefault(
            r["business_line"],
            {"code": "", "label": r["business_line"], "business_line": r["business_line"]}
            | {k: ZERO for k in (*MONEY, "logged_hours")}
            | {"budget_hours": ZERO},
        )
        for k in (*MONEY, "logged_hours"):
            acc[k] += r[k]
        acc["budget_hours"] += r["budget_hours"] or ZERO
    for acc in lines.values():
        acc["margin_rate"] = margin_rate(acc["margin"], acc["revenue"])
    return sorted(lines.values(), key=lambda r: r["label"])


def profitability(
    session: Session, *, actor: Staff, by: str = "project", project: str | None = None
) -> Table:
    if by not in GROUPS:
        raise ValidationFailed("项目利润可按 project 或 business_line 汇总")
    projects = _projects(session, actor, project)
    ids = [p.id for p in projects]
    cost, hours = _labour(session, ids, reporting.load(session))
    expenses = _expenses(session, ids)
    rows = [_row(p, cost, hours, expenses) for p in projects]
    if by == "business_line":
        rows = _by_line(rows)
    title = f"项目利润 {project.upper()}" if project else "项目利润(按业务线)"
    if not project and by == "project":
        title = "项目利润(按项目)"
    columns = [Column("code", "项目编号"), Column("label", "项目" if by == "project" else "业务线")]
    columns += [Column("business_line", "业务线")] if by == "project" else []
    columns += [
        Column("revenue", "合同额(不含税)", money=True),
        Column("labour_cost", "人工成本", money=True),
        Column("expenses", "项目费用", money=True),
        Column("margin", "毛利", money=True),
        Column("margin_rate", "毛利率"),
        Column("budget_hours", "预算工时"),
        Column("logged_hours", "已登记工时"),
    ]
    table = Table("profitability", title, columns, rows)
    table.totals = {k: table.column_total(k) for k in (*MONEY, "logged_hours")}
    table.totals["margin_rate"] = margin_rate(table.totals["margin"], table.totals["revenue"])
    return table
