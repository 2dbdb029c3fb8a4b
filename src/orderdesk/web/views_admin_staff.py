"""/m/admin/staff and /m/admin/calendar: staff and roles, and the working calendar as the
scheduler sees it (admin only; the rules live in directory/staff_admin.py and core/workdays.py)."""

from __future__ import annotations

import re
from datetime import date

from flask import abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from orderdesk.core import clock
from orderdesk.core.errors import NotFound, ValidationFailed
from orderdesk.core.workdays import month_weeks, official_workday
from orderdesk.directory import staff_admin
from orderdesk.directory.service import list_staff
from orderdesk.models.staff import ROLE_NAMES_ZH, ROLES
from orderdesk.web import bp
from orderdesk.web.auth import Page
from orderdesk.web.views_admin import admin_required

MONTH_RE = re.compile(r"(\d{4})-(\d{1,2})")


@bp.get("/m/admin/staff")
@admin_required
def admin_staff(pg: Page) -> ResponseReturnValue:
    return render_template(
        "web/admin/staff.html", people=list_staff(pg.session), role_zh=ROLE_NAMES_ZH
    )


def _render_person(pg: Page, userid: str, error: str | None = None) -> str:
    person = staff_admin.staff_by_userid(pg.session, actor=pg.actor, userid=userid[:64])
    return render_template(
        "web/admin/person.html",
        person=person,
        roles=[(r, ROLE_NAMES_ZH[r]) for r in ROLES],
        departments=staff_admin.departments(pg.session),
        saved=request.args.get("saved") == "1",
        error=error,
    )


@bp.get("/m/admin/staff/<userid>")
@admin_required
def admin_person(pg: Page, userid: str) -> ResponseReturnValue:
    return _render_person(pg, userid)


@bp.post("/m/admin/staff/<userid>")
@admin_required
def admin_person_save(pg: Page, userid: str) -> ResponseReturnValue:
    raw_dept = (request.form.get("department") or "").strip()
    if raw_dept and (not raw_dept.isdigit() or len(raw_dept) > 12):
        abort(400, "参数格式不正确")
    try:
        staff_admin.update_staff(
            pg.session,
            actor=pg.actor,
            userid=userid[:64],
            roles=request.form.getlist("roles"),
            department_id=int(raw_dept) if raw_dept else None,
            active=request.form.get("active") == "1",
        )
    except NotFound:
        raise
    except ValidationFailed as exc:
        pg.session.rollback()  # a refused edit changes nothing
        return _render_person(pg, userid, error=exc.message), 400
    return redirect(url_for("web.admin_person", userid=userid, saved=1))


def _month(pg: Page) -> tuple[int, int]:
    """The month asked for (?month=YYYY-MM), this month in company time by default."""
    raw = (request.args.get("month") or "").strip()
    if not raw:
        today = clock.today(clock.company_tz(pg.session))
        return today.year, today.month
    match = MONTH_RE.fullmatch(raw)
    year, month = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
    if not (1 <= month <= 12 and 1990 <= year <= 2100):
        abort(400, "月份格式应为 YYYY-MM,如 2027-02")
    return year, month


@bp.get("/m/admin/calendar")
@admin_required
def admin_calendar(pg: Page) -> ResponseReturnValue:
    settings = pg.rt.settings
    year, month = _month(pg)
    weeks = month_weeks(settings, year, month)
    first = date(year, month, 1)
    prev = date(year - 1, 12, 1) if month == 1 else date(year, month - 1, 1)
    nxt = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return render_template(
        "web/admin/calendar.html",
        weeks=weeks,
        first=first,
        prev=prev.strftime("%Y-%m"),
        next=nxt.strftime("%Y-%m"),
        special=[c for w in weeks for c in w if c is not None and c.special],
        working_days=sum(c.working for w in weeks for c in w if c is not None),
        settings=settings,
        official_known=official_workday(first) is not None,
    )
