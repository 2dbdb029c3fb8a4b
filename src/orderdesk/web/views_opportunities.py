"""Opportunities: the pipeline by stage, detail, create, edit, move stage (赢单 drafts a
contract and links to it; 输单 needs a reason). Rules: directory.opportunities."""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from orderdesk.core.errors import DomainError
from orderdesk.directory import opportunities as opps
from orderdesk.directory.customers import customer_choices
from orderdesk.models.customer import OPPORTUNITY_STAGES
from orderdesk.web import bp, forms
from orderdesk.web.auth import Page, login_required

FIELDS = {"title": 200, "expected_amount": 24, "expected_close_date": 10}


@bp.get("/m/opportunities")
@login_required
def opportunities(pg: Page) -> ResponseReturnValue:
    stage = request.args.get("stage") or None
    if stage is not None and stage not in OPPORTUNITY_STAGES:
        stage = None
    columns = opps.pipeline(pg.session, actor=pg.actor, stage=stage, limit=30)
    return render_template(
        "web/opportunities.html",
        columns=columns,
        stage=stage,
        stages=OPPORTUNITY_STAGES,
        may_create=pg.actor.has_role(*opps.CREATE_ROLES),
    )


def _form_page(pg: Page, form: dict[str, Any], opp: Any = None, error: str | None = None) -> str:
    chosen = form.get("customer_id")
    choices = (
        []
        if opp
        else customer_choices(
            pg.session, actor=pg.actor, chosen=chosen if isinstance(chosen, int) else None
        )
    )
    return render_template(
        "web/opportunity_form.html", form=form, opp=opp, customers=choices, error=error
    )


@bp.route("/m/opportunities/new", methods=["GET", "POST"])
@login_required
def opportunity_new(pg: Page) -> ResponseReturnValue:
    if request.method == "GET":
        return _form_page(pg, {"customer_id": forms.int_arg("customer")})
    form: dict[str, Any] = {k: v for k, v in forms.fields(FIELDS).items() if v is not None}
    raw_customer = forms.text("customer_id", 12)
    form["customer_id"] = int(raw_customer) if raw_customer.isdigit() else None
    try:
        opp = opps.create_opportunity(pg.session, actor=pg.actor, data=form)
    except DomainError as exc:
        status = forms.refused(exc)
        return _form_page(pg, form, error=exc.message), status
    return redirect(url_for("web.opportunity_page", opportunity_id=opp.id))


def _render(pg: Page, opportunity_id: int, error: str | None = None) -> str:
    opp = opps.get_opportunity(pg.session, actor=pg.actor, opportunity_id=opportunity_id)
    return render_template(
        "web/opportunity.html",
        opp=opp,
        stages=OPPORTUNITY_STAGES,
        closed=opp.stage in opps.CLOSED,
        error=error,
    )


@bp.get("/m/opportunities/<int:opportunity_id>")
@login_required
def opportunity_page(pg: Page, opportunity_id: int) -> ResponseReturnValue:
    return _render(pg, opportunity_id)


@bp.route("/m/opportunities/<int:opportunity_id>/edit", methods=["GET", "POST"])
@login_required
def opportunity_edit(pg: Page, opportunity_id: int) -> ResponseReturnValue:
    opp = opps.get_opportunity(pg.session, actor=pg.actor, opportunity_id=opportunity_id)
    if request.method == "GET":
        return _form_page(pg, {k: getattr(opp, k) for k in FIELDS}, opp)
    form = forms.fields(FIELDS)
    data = {k: v for k, v in form.items() if v is not None or k == "expected_close_date"}
    try:
        opps.update_opportunity(
            pg.session, actor=pg.actor, opportunity_id=opportunity_id, data=data
        )
    except DomainError as exc:
        status = forms.refused(exc)
        return _form_page(pg, dict(form), opp, error=exc.message), status
    return redirect(url_for("web.opportunity_page", opportunity_id=opportunity_id))


@bp.post("/m/opportunities/<int:opportunity_id>/stage")
@login_required
def opportunity_stage(pg: Page, opportunity_id: int) -> ResponseReturnValue:
    try:
        opps.move_stage(
            pg.session,
            actor=pg.actor,
            opportunity_id=opportunity_id,
            stage=forms.text("stage", 16),
            reason=forms.optional("reason", 500),
        )
    except DomainError as exc:
        status = forms.refused(exc)
        return _render(pg, opportunity_id, error=exc.message), status
    return redirect(url_for("web.opportunity_page", opportunity_id=opportunity_id))
