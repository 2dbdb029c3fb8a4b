"""The order page's 版本历史 and 发起变更 (change requests, issue 15): the section's data for the
template include, and the form's POST. The services decide; the page reports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import g, redirect, request, url_for
from flask.typing import ResponseReturnValue

from orderdesk.core.errors import DomainError, NotFound, PermissionDenied
from orderdesk.directory.permissions import can_see_money
from orderdesk.models import ChangeRequest, Order
from orderdesk.orders.changes import service as changes
from orderdesk.orders.changes.versions import VersionView, versions_of
from orderdesk.orders.queries import get_order
from orderdesk.web import bp
from orderdesk.web.auth import Page, login_required
from orderdesk.web.views_orders import order_refused


@dataclass(frozen=True)
class ChangePanel:
    versions: list[VersionView]
    changes: list[ChangeRequest]
    may_raise: bool
    show_money: bool


def _panel(order: Order) -> ChangePanel | None:
    pg: Page | None = g.get("page")
    if pg is None:
        return None
    # The page already loaded `order` within the actor's scope: no second lookup.
    return ChangePanel(
        versions=versions_of(pg.session, order),
        changes=changes.changes_for(pg.session, order),
        may_raise=changes.may_raise_now(pg.actor, order),
        show_money=can_see_money(pg.actor, order),
    )


@bp.context_processor
def _change_helpers() -> dict[str, Any]:
    return {"change_panel": _panel, "describe_change": changes.describe}


@bp.post("/m/orders/<no>/changes")
@login_required
def order_change(pg: Page, no: str) -> ResponseReturnValue:
    """发起变更 from the order page: created and submitted for approval in one step."""
    order = get_order(pg.session, actor=pg.actor, number=no[:32])
    days_raw = (request.form.get("schedule_days") or "0").strip()[:6]
    try:
        days = int(days_raw) if days_raw.lstrip("-").isdigit() else days_raw
        data = changes.ChangeInput(
            scope=(request.form.get("scope") or "")[: changes.MAX_SCOPE + 1],
            amount_delta=(request.form.get("amount_delta") or "0").strip()[:20],
            schedule_days=days,
            reason=(request.form.get("reason") or "").strip()[:2000] or None,
        )
        changes.create_change(
            pg.session, actor=pg.actor, number=order.number, data=data, submit=True
        )
        pg.session.flush()
    except (NotFound, PermissionDenied):
        raise
    except DomainError as exc:
        return order_refused(pg, no, exc)
    return redirect(url_for("web.order_detail", no=order.number))
