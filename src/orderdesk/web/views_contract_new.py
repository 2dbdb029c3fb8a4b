"""新建合同 (/m/contracts/new): the H5 form over money.contracts.create_contract, the same
service as POST /api/v1/contracts. Payment terms are up to TERM_ROWS rows of the form; a row
without a name and value is left out. A refused form is shown again with what was typed."""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from orderdesk.core.errors import DomainError, NotFound, PermissionDenied
from orderdesk.directory.customers import search_customers
from orderdesk.directory.opportunities import pipeline
from orderdesk.models import BusinessLine
from orderdesk.money.contracts import POLICIES, create_contract
from orderdesk.money.plans import TRIGGER_ZH
from orderdesk.web import bp
from orderdesk.web.auth import Page, login_required

TERM_ROWS = 4
TERM_KEYS = ("name", "kind", "value", "trigger", "days", "date", "milestone", "event")
OPTIONAL = ("title", "business_line", "buyer_name", "buyer_tax_id", "signed_date", "tax_rate")


def _terms(form: MultiDict[str, str]) -> list[dict[str, Any]]:
    terms = []
    for i in range(TERM_ROWS):
        row = {k: (form.get(f"t{i}_{k}") or "").strip() for k in TERM_KEYS}
        if not row["value"]:
            continue
        term: dict[str, Any] = {"name": row["name"] or f"第{i + 1}期款", "trigger": row["trigger"]}
        term["amount" if row["kind"] == "amount" else "percent"] = row["value"]
        term["days"] = row["days"] if row["days"].isdigit() else 0
        for key in ("date", "milestone", "event"):
            if row[key]:
                term[key] = row[key]
        terms.append(term)
    return terms


def _data(form: MultiDict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "customer_id": form.get("customer_id", type=int),
        "opportunity_id": form.get("opportunity_id", type=int),
        "amount": (form.get("amount") or "").strip(),
        "invoicing_policy": form.get("invoicing_policy") or None,
        "payment_terms": _terms(form),
    }
    for key in OPTIONAL:
        value = (form.get(key) or "").strip()
        if value:
            data[key] = value
    return data


def _render(pg: Page, form: MultiDict[str, str], error: str | None = None) -> str:
    open_opps = [o for col in pipeline(pg.session, actor=pg.actor) for o in col.items]
    return render_template(
        "web/contract_new.html",
        form=form,
        error=error,
        customers=search_customers(pg.session, actor=pg.actor, limit=50),
        opportunities=[o for o in open_opps if o.stage != "lost"],
        lines=pg.session.scalars(select(BusinessLine).order_by(BusinessLine.code)).all(),
        policies=POLICIES,
        triggers=TRIGGER_ZH,
        rows=range(TERM_ROWS),
    )


@bp.get("/m/contracts/new")
@login_required
def contract_new(pg: Page) -> ResponseReturnValue:
    return _render(pg, request.args)


@bp.post("/m/contracts/new")
@login_required
def contract_create(pg: Page) -> ResponseReturnValue:
    try:
        contract = create_contract(pg.session, actor=pg.actor, data=_data(request.form))
    except DomainError as exc:
        # Nothing of a refused form may stay: undo, then show the form again with the reason.
        pg.session.rollback()
        return _render(pg, request.form, error=exc.message), _status(exc)
    return render_template(
        "web/contract_created.html", contract=contract, detail=_detail_link(contract.id)
    ), 201


def _status(exc: DomainError) -> int:
    if isinstance(exc, NotFound):
        return 404
    return 403 if isinstance(exc, PermissionDenied) else 422


def _detail_link(contract_id: int) -> str | None:
    # The contract pages (list / detail / edit) come from another change; link once they exist.
    if "web.contract_detail" in current_app.view_functions:
        return url_for("web.contract_detail", contract_id=contract_id)
    return None
