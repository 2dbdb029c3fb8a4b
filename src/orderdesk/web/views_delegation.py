"""我不在时: an approver names a delegate for a period, and may end it early
(approvals/delegation.py decides; while it runs the delegate sees and decides the approvals)."""

from __future__ import annotations

from datetime import date

from flask import redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from orderdesk.approvals.delegation import cancel_delegation, delegations_of, set_delegation
from orderdesk.core.errors import ValidationFailed
from orderdesk.core.parsing import DAY_RULE_ZH, parse_day
from orderdesk.directory.service import list_staff
from orderdesk.web import bp
from orderdesk.web.auth import Page, login_required


def _render(pg: Page, error: str | None = None) -> str:
    colleagues = [s for s in list_staff(pg.session) if s.active and s.id != pg.actor.id]
    return render_template(
        "web/delegation.html",
        windows=delegations_of(pg.session, pg.actor),
        colleagues=colleagues,
        error=error,
        form=request.form if request.method == "POST" else {},
    )


@bp.get("/m/delegation")
@login_required
def delegation(pg: Page) -> ResponseReturnValue:
    return _render(pg)


def _day(field: str, label: str) -> date:
    raw = (request.form.get(field) or "").strip()[:32]
    day = parse_day(raw) if raw else None
    if day is None:
        raise ValidationFailed(f"{label}无效({DAY_RULE_ZH})", fields={field: "无效"})
    return day


@bp.post("/m/delegation")
@login_required
def delegation_set(pg: Page) -> ResponseReturnValue:
    try:
        set_delegation(
            pg.session,
            actor=pg.actor,
            substitute_userid=(request.form.get("substitute") or "").strip()[:64],
            starts_on=_day("starts_on", "开始日期"),
            ends_on=_day("ends_on", "结束日期"),
            reason=(request.form.get("reason") or "").strip()[:200] or None,
        )
    except ValidationFailed as exc:
        pg.session.rollback()  # a refused window changes nothing
        return _render(pg, error=exc.message), 400
    return redirect(url_for("web.delegation"))


@bp.post("/m/delegation/end")
@login_required
def delegation_end(pg: Page) -> ResponseReturnValue:
    cancel_delegation(pg.session, actor=pg.actor)
    return redirect(url_for("web.delegation"))
