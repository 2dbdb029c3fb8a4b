"""Customers: search (name, pinyin initials, contact phone), detail (contacts, orders,
contracts), create with the duplicate guard, edit, archive, add a contact. The rules are
directory.customer_admin's (the API and the chat use the same functions)."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from orderdesk.core.errors import DomainError
from orderdesk.directory import customer_admin
from orderdesk.directory.customers import customer_detail, search_customers
from orderdesk.directory.permissions import owns_or_leads
from orderdesk.orders.lookups import preload_order_refs
from orderdesk.web import bp, forms
from orderdesk.web.auth import Page, login_required

LIST = 50
CUSTOMER_FIELDS = {"name": 128, "short_name": 64, "industry": 64, "credit_code": 18}
CONTACT_FIELDS = {"name": 64, "phone": 20, "title": 64, "email": 128}


@bp.get("/m/customers")
@login_required
def customers(pg: Page) -> ResponseReturnValue:
    q = (request.args.get("q") or "").strip()[:64]
    archived = request.args.get("archived") == "1"
    found = search_customers(
        pg.session, actor=pg.actor, q=q or None, limit=LIST, include_archived=archived
    )
    return render_template(
        "web/customers.html",
        customers=found,
        q=q,
        archived=archived,
        may_create=pg.actor.has_role(*customer_admin.CREATE_ROLES),
    )


@bp.route("/m/customers/new", methods=["GET", "POST"])
@login_required
def customer_new(pg: Page) -> ResponseReturnValue:
    form = forms.fields(CUSTOMER_FIELDS)
    contact = {k: forms.optional(f"contact_{k}", n) for k, n in CONTACT_FIELDS.items()}
    if request.method == "GET":
        return render_template("web/customer_form.html", form=form, contact=contact, customer=None)
    data: dict[str, object] = dict(form)
    if contact["name"] or contact["phone"]:
        data["contacts"] = [contact]
    try:
        created = customer_admin.create_customer(pg.session, actor=pg.actor, data=data)
    except DomainError as exc:
        status = forms.refused(exc)
        return render_template(
            "web/customer_form.html", form=form, contact=contact, customer=None, error=exc.message
        ), status
    return redirect(url_for("web.customer_page", customer_id=created.id))


def _render_customer(pg: Page, customer_id: int, error: str | None = None) -> str:
    detail = customer_detail(pg.session, actor=pg.actor, customer_id=customer_id)
    preload_order_refs(pg.session, detail.orders)
    return render_template(
        "web/customer.html",
        d=detail,
        c=detail.customer,
        may_edit=owns_or_leads(pg.actor, detail.customer.owner),
        error=error,
    )


@bp.get("/m/customers/<int:customer_id>")
@login_required
def customer_page(pg: Page, customer_id: int) -> ResponseReturnValue:
    return _render_customer(pg, customer_id)


@bp.route("/m/customers/<int:customer_id>/edit", methods=["GET", "POST"])
@login_required
def customer_edit(pg: Page, customer_id: int) -> ResponseReturnValue:
    customer = customer_admin.editable_customer(pg.session, actor=pg.actor, customer_id=customer_id)
    if request.method == "GET":
        form = {k: getattr(customer, k) for k in CUSTOMER_FIELDS}
        return render_template("web/customer_form.html", form=form, customer=customer)
    form = forms.fields(CUSTOMER_FIELDS)
    try:
        customer_admin.update_customer(
            pg.session, actor=pg.actor, customer_id=customer_id, data=dict(form)
        )
    except DomainError as exc:
        status = forms.refused(exc)
        customer = customer_admin.editable_customer(
            pg.session, actor=pg.actor, customer_id=customer_id
        )
        return render_template(
            "web/customer_form.html", form=form, customer=customer, error=exc.message
        ), status
    return redirect(url_for("web.customer_page", customer_id=customer_id))


@bp.post("/m/customers/<int:customer_id>/archive")
@login_required
def customer_archive(pg: Page, customer_id: int) -> ResponseReturnValue:
    customer_admin.archive_customer(
        pg.session,
        actor=pg.actor,
        customer_id=customer_id,
        archived=request.form.get("archived") != "0",
    )
    return redirect(url_for("web.customer_page", customer_id=customer_id))


@bp.post("/m/customers/<int:customer_id>/contacts")
@login_required
def customer_contact(pg: Page, customer_id: int) -> ResponseReturnValue:
    try:
        customer_admin.add_contact(
            pg.session, actor=pg.actor, customer_id=customer_id, data=forms.fields(CONTACT_FIELDS)
        )
    except DomainError as exc:
        status = forms.refused(exc)
        return _render_customer(pg, customer_id, error=exc.message), status
    return redirect(url_for("web.customer_page", customer_id=customer_id))
