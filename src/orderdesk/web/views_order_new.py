"""A new order from the phone: order type (its custom fields follow it), customer, title,
lines of the service catalogue. orders.service.create_order decides (the API's function);
the draft then shows 提交审批 on its page."""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from orderdesk.core.errors import DomainError
from orderdesk.directory.customers import customer_choices
from orderdesk.models import OrderType
from orderdesk.orders import catalog
from orderdesk.orders.inputs import CREATOR_ROLES
from orderdesk.orders.service import create_order
from orderdesk.web import bp, forms
from orderdesk.web.auth import Page, login_required

LINES = 3


def _chosen_type(types: list[OrderType]) -> OrderType | None:
    code = (request.values.get("order_type") or "")[:32]
    return next((t for t in types if t.code == code), types[0] if types else None)


def _data(order_type: OrderType | None) -> dict[str, Any]:
    """The form as create_order's `data` (the same keys as the API's body)."""
    lines = []
    for i in range(LINES):
        item, qty = forms.text(f"item_{i}", 32), forms.text(f"qty_{i}", 12)
        if item:
            lines.append({"service_item": item, "quantity": qty or "1"})
    schema = order_type.field_schema if order_type else []
    custom = {f["key"]: forms.text(f"cf_{f['key']}", 5000) for f in schema or []}
    raw_customer = forms.text("customer_id", 12)
    return {
        "order_type": order_type.code if order_type else "",
        "customer_id": int(raw_customer) if raw_customer.isdigit() else None,
        "title": forms.text("title", 200),
        "lines": lines,
        "custom_fields": {k: v for k, v in custom.items() if v},
    }


def _form(pg: Page, types: list[OrderType], chosen: Any, data: dict[str, Any], **extra: Any) -> str:
    return render_template(
        "web/order_new.html",
        types=types,
        chosen=chosen,
        customers=customer_choices(pg.session, actor=pg.actor, chosen=data.get("customer_id")),
        items=catalog.service_items(pg.session),
        data=data,
        rows=range(LINES),
        **extra,
    )


@bp.route("/m/orders/new", methods=["GET", "POST"])
@login_required
def order_new(pg: Page) -> ResponseReturnValue:
    if not pg.actor.has_role(*CREATOR_ROLES):
        abort(404)  # the form of someone who may not create orders: no such page
    types = catalog.order_types(pg.session)
    chosen = _chosen_type(types)
    if request.method == "GET":
        return _form(pg, types, chosen, {"customer_id": forms.int_arg("customer")})
    data = _data(chosen)
    try:
        order = create_order(pg.session, actor=pg.actor, data=data)
        pg.session.flush()
    except DomainError as exc:
        status = forms.refused(exc)
        return _form(pg, types, chosen, data, error=exc.message, problems=exc.fields), status
    return redirect(url_for("web.order_detail", no=order.number))
