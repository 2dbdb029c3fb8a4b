"""Contracts: list, detail (terms, plan, invoicing policy), edit terms (the plan regenerates;
the page shows it before and after), sign. New contracts: /m/contracts/new (its own page).
Rules: money.contracts and money.plans."""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from orderdesk.core.errors import DomainError
from orderdesk.directory.customers import may_see_contract_money
from orderdesk.models import Contract, PaymentPlan
from orderdesk.models.contract import CONTRACT_STATUSES
from orderdesk.models.money import TRIGGERS
from orderdesk.money import contracts
from orderdesk.money.invoices import POLICY_ZH
from orderdesk.money.plans import TRIGGER_ZH
from orderdesk.web import bp, forms
from orderdesk.web.auth import Page, login_required

MAX_TERMS = 12
BLANK_ROWS = 2
# The extra field a trigger needs, as the term dict names it.
TRIGGER_FIELD = {"on_date": "date", "after_event": "event", "on_milestone": "milestone"}


@bp.get("/m/contracts")
@login_required
def contracts_list(pg: Page) -> ResponseReturnValue:
    status = request.args.get("status") or None
    if status not in CONTRACT_STATUSES:
        status = None
    found = contracts.list_contracts(pg.session, actor=pg.actor, status=status)
    return render_template(
        "web/contracts.html",
        contracts=found,
        status=status,
        statuses=CONTRACT_STATUSES,
        show_money={k.id: may_see_contract_money(pg.actor, k) for k in found},
    )


def _plan_rows(pg: Page, contract: Contract) -> list[Any]:
    plan = pg.session.scalar(select(PaymentPlan).where(PaymentPlan.contract_id == contract.id))
    return sorted(plan.installments, key=lambda i: i.sequence) if plan else []


def _render(pg: Page, contract_id: int, **extra: Any) -> str:
    contract = contracts.get_contract(pg.session, actor=pg.actor, contract_id=contract_id)
    show = may_see_contract_money(pg.actor, contract)
    return render_template(
        "web/contract.html",
        k=contract,
        show_money=show,
        plan=_plan_rows(pg, contract) if show else [],
        may_edit=contracts.may_edit(pg.actor, contract),
        policy=POLICY_ZH.get(contract.invoicing_policy, contract.invoicing_policy),
        trigger_zh=TRIGGER_ZH,
        **extra,
    )


@bp.get("/m/contracts/<int:contract_id>")
@login_required
def contract_page(pg: Page, contract_id: int) -> ResponseReturnValue:
    return _render(pg, contract_id)


@bp.post("/m/contracts/<int:contract_id>/sign")
@login_required
def contract_sign(pg: Page, contract_id: int) -> ResponseReturnValue:
    try:
        contracts.sign_contract(
            pg.session,
            actor=pg.actor,
            contract_id=contract_id,
            signed_on=forms.text("signed_date", 10),
        )
    except DomainError as exc:
        status = forms.refused(exc)
        return _render(pg, contract_id, error=exc.message), status
    return redirect(url_for("web.contract_page", contract_id=contract_id))


def _term_rows(terms: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The terms as the form shows them: one row each, plus blank rows to add installments."""
    rows = []
    for term in terms:
        share = f"{term['percent']}%" if term.get("percent") is not None else term.get("amount")
        trigger = term.get("trigger") or "on_signing"
        extra = term.get(TRIGGER_FIELD.get(trigger, ""), "")
        rows.append({**term, "share": share, "trigger": trigger, "extra": extra or ""})
    return rows + [{"trigger": "on_signing"} for _ in range(BLANK_ROWS)]


def _terms_from_form() -> list[dict[str, Any]]:
    """Form rows back into term dicts ("30%" is a percent, "10000" a fixed amount); the
    services validate them (money.plans.parse_terms)."""
    terms: list[dict[str, Any]] = []
    for i in range(MAX_TERMS):
        name, share = forms.text(f"name_{i}", 64), forms.text(f"share_{i}", 24)
        if not name and not share:
            continue
        trigger = forms.text(f"trigger_{i}", 16) or "on_signing"
        term: dict[str, Any] = {"name": name, "trigger": trigger}
        term["percent" if share.endswith("%") else "amount"] = share.rstrip("%") or None
        term["days"] = forms.text(f"days_{i}", 4) or 0
        if trigger in TRIGGER_FIELD:
            term[TRIGGER_FIELD[trigger]] = forms.text(f"extra_{i}", 32)
        terms.append(term)
    return terms


def _edit_form(contract: Contract, rows: list[dict[str, Any]], error: str | None = None) -> str:
    return render_template(
        "web/contract_form.html",
        k=contract,
        rows=rows,
        triggers=TRIGGERS,
        trigger_zh=TRIGGER_ZH,
        error=error,
    )


@bp.route("/m/contracts/<int:contract_id>/edit", methods=["GET", "POST"])
@login_required
def contract_edit(pg: Page, contract_id: int) -> ResponseReturnValue:
    contract = contracts.get_contract(pg.session, actor=pg.actor, contract_id=contract_id)
    if not contracts.may_edit(pg.actor, contract) or not may_see_contract_money(pg.actor, contract):
        abort(404)
    if request.method == "GET":
        return _edit_form(contract, _term_rows(list(contract.payment_terms or [])))
    before = [(i.name, i.amount, i.due_date) for i in _plan_rows(pg, contract)]
    data: dict[str, Any] = {"title": forms.text("title", 200), "amount": forms.text("amount", 24)}
    data["payment_terms"] = _terms_from_form()
    try:
        contracts.update_contract(pg.session, actor=pg.actor, contract_id=contract_id, data=data)
        pg.session.flush()
    except DomainError as exc:
        status = forms.refused(exc)
        contract = contracts.get_contract(pg.session, actor=pg.actor, contract_id=contract_id)
        return _edit_form(contract, _term_rows(data["payment_terms"]), exc.message), status
    pg.session.expire_all()  # the regenerated plan, not the one loaded before
    return _render(pg, contract_id, before=before, saved=True)
