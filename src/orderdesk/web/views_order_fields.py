"""The custom fields of an order, edited on its detail page (there is no order create page yet).

The form is drawn from the order type's field schema (what /m/admin configures); the values go
through `orders.edit.update_order`, the API's path (validation, frozen fields after submit,
version check, timeline).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import g, redirect, request, url_for
from flask.typing import ResponseReturnValue

from orderdesk.config.fields import editable_after_submit
from orderdesk.core.errors import DomainError, NotFound, PermissionDenied
from orderdesk.directory.permissions import can_manage
from orderdesk.models import Order
from orderdesk.orders.edit import update_order
from orderdesk.orders.inputs import FINAL_STATES
from orderdesk.orders.queries import get_order
from orderdesk.web import bp
from orderdesk.web.auth import Page, login_required
from orderdesk.web.views_orders import order_refused

MAX_VALUE = 5000


@dataclass(frozen=True)
class FieldRow:
    definition: dict[str, Any]
    value: str
    editable: bool


def _editable_keys(order: Order) -> set[str]:
    schema = order.order_type.field_schema or []
    if order.status == "draft":
        return {str(f.get("key")) for f in schema}
    return editable_after_submit(schema, order.status)


def field_rows(order: Order) -> list[FieldRow] | None:
    """The form's rows, or None when the reader may not edit this order at all."""
    page = g.get("page")
    schema = order.order_type.field_schema or []
    if page is None or not schema or order.status in FINAL_STATES:
        return None
    if not can_manage(page.actor, order):
        return None
    keys, values = _editable_keys(order), order.custom_fields or {}
    return [
        FieldRow(dict(f), str(values.get(f["key"], "")), f["key"] in keys)
        for f in schema
        if isinstance(f, dict) and "key" in f
    ]


@bp.context_processor
def _order_fields_helpers() -> dict[str, Any]:
    return {"custom_field_rows": field_rows}


@bp.post("/m/orders/<no>/fields")
@login_required
def order_fields(pg: Page, no: str) -> ResponseReturnValue:
    order = get_order(pg.session, actor=pg.actor, number=no[:32])
    keys = _editable_keys(order)
    values = {k: (request.form.get(f"cf_{k}") or "")[:MAX_VALUE] for k in sorted(keys)}
    raw_version = (request.form.get("version") or "").strip()
    try:
        update_order(
            pg.session,
            actor=pg.actor,
            number=order.number,
            changes={"custom_fields": values},
            expected_version=int(raw_version) if raw_version.isdigit() else None,
        )
    except (NotFound, PermissionDenied):
        raise
    except DomainError as exc:
        return order_refused(pg, no, exc)
    return redirect(url_for("web.order_detail", no=order.number))
