"""Utilisation: hours logged / hours available, per person or department, for a month.

Available hours = working days of the company calendar (core.workdays: China's official
calendar with 调休, adjusted by HOLIDAYS / WORKDAYS) x `hours_per_day` (reporting config).
For the running month the days count up to `as_of` (utilisation so far), for a past month all
of it. People: those whose hours the caller may see (themselves; a manager their team; finance,
gm and admin everyone): active staff with a delivery role, and anyone who logged hours.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, true
from sqlalchemy.orm import Session

from orderdesk.config import reporting
from orderdesk.core import clock
from orderdesk.core.errors import ValidationFailed
from orderdesk.core.workdays import is_working_day
from orderdesk.directory.permissions import SEE_ALL_ROLES, managed_by, team_of
from orderdesk.models import Department, Staff, StaffRole, TimeEntry
from orderdesk.reports.table import Column, Table

ZERO = Decimal("0.00")
DELIVERY_ROLES = ("delivery", "pm", "presales")
GROUPS = ("person", "department")


def people_scope(actor: Staff) -> ColumnElement[bool]:
    """A WHERE clause on `Staff`: whose hours `actor` may see."""
    if actor.active and actor.has_role(*SEE_ALL_ROLES):
        return true()
    clauses: list[ColumnElement[bool]] = [Staff.id == actor.id]
    if actor.active and actor.has_role("manager"):
        clauses += [Staff.id.in_(team_of(actor)), Staff.id.in_(managed_by(actor))]
    return or_(*clauses)


def working_days(session: Session, start: date, end: date) -> int:
    settings = clock.settings_of(session)
    days = (end - start).days
    return sum(1 for n in range(days) if is_working_day(start + timedelta(days=n), settings))


def _logged(session: Session, actor: Staff, start: date, end: date) -> dict[int, Decimal]:
    stmt = (
        select(TimeEntry.staff_id, func.sum(TimeEntry.hours))
        .join(Staff, Staff.id == TimeEntry.staff_id)
        .where(TimeEntry.work_date >= start, TimeEntry.work_date < end, people_scope(actor))
        .group_by(TimeEntry.staff_id)
    )
    return {sid: Decimal(str(h)) for sid, h in session.execute(stmt)}


def _people(session: Session, actor: Staff, logged: set[int]) -> list[Any]:
    delivery = select(StaffRole.staff_id).where(StaffRole.role.in_(DELIVERY_ROLES))
    stmt = (
        select(Staff.id, Staff.name, func.coalesce(Department.name, "未分配部门").label("dept"))
        .outerjoin(Department, Department.id == Staff.department_id)
        .where(
            people_scope(actor),
            or_(Staff.id.in_(logged), (Staff.active.is_(True)) & Staff.id.in_(delivery)),
        )
        .order_by(Staff.name)
    )
    return list(session.execute(stmt).all())


def rate(logged: Decimal, available: Decimal) -> Decimal | None:
    return (logged / available).quantize(Decimal("0.0001")) if available else None


def _grouped(rows: list[dict[str, Any]], available: Decimal) -> list[dict[str, Any]]:
    depts: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"logged": ZERO, "available": ZERO, "people": 0}
    )
    for r in rows:
        d = depts[r["department"]]
        d["logged"] += r["logged"]
        d["available"] += available
        d["people"] += 1
    out = [
        {"label": name, "department": name, **d, "utilisation": rate(d["logged"], d["available"])}
        for name, d in sorted(depts.items())
    ]
    return out


def utilisation(
    session: Session, *, actor: Staff, start: date, end: date, as_of: date, by: str = "person"
) -> Table:
    if by not in GROUPS:
        raise ValidationFailed("利用率可按 person 或 department 汇总")
    cfg = reporting.load(session)
    until = min(end, max(start, as_of + timedelta(days=1)))
    days = working_days(session, start, until)
    available = (cfg.hours_per_day * days).quantize(ZERO)
    logged = _logged(session, actor, start, end)
    rows = [
        {
            "label": p.name,
            "department": p.dept,
            "logged": logged.get(p.id, ZERO).quantize(ZERO),
            "available": available,
            "utilisation": rate(logged.get(p.id, ZERO), available),
        }
        for p in _people(session, actor, set(logged))
    ]
    if by == "department":
        rows = _grouped(rows, available)
    columns = [Column("label", "姓名" if by == "person" else "部门")]
    columns += [Column("department", "部门")] if by == "person" else [Column("people", "人数")]
    columns += [
        Column("logged", "已登记工时"),
        Column("available", "可用工时"),
        Column("utilisation", "利用率"),
    ]
    title = f"工时利用率({start:%Y-%m},{days} 个工作日)"
    table = Table("utilisation", title, columns, rows, meta={"working_days": days})
    table.totals = {
        "logged": table.column_total("logged"),
        "available": table.column_total("available"),
    }
    table.totals["utilisation"] = rate(table.totals["logged"], table.totals["available"])
    return table
