"""Orders: list with the API's filters, detail (money only for those allowed), and the actions
the role may take (submit for approval, transitions with reason)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import joinedload

from orderdesk.approvals import service as approvals
from orderdesk.core import clock
from orderdesk.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from orderdesk.core.parsing import DAY_RULE_ZH, parse_day
from orderdesk.directory.permissions import can_see_money
from orderdesk.models import Order
from orderdesk.models.order import ORDER_STATUSES
from orderdesk.money.collections import plan_of, summarize
from orderdesk.money.invoices import invoice_forms
from orderdesk.money.receipts import PossibleDuplicate, record_receipt
from orderdesk.orders.actions import SUBMIT, actions_for, can_record_receipt
from orderdesk.orders.attachments import Upload, discard_files, store_files
from orderdesk.orders.inputs import CREATOR_ROLES
from orderdesk.orders.lookups import activity_page, payments_of, preload_order_refs
from orderdesk.orders.queries import get_order, list_orders
from orderdesk.orders.service import add_progress, transition
from orderdesk.orders.timeline import body_for_reader
from orderdesk.projects.service import log_hours, project_summary
from orderdesk.web import bp
from orderdesk.web.auth import Page, login_required
from orderdesk.web.forms import int_arg

PAGE = 20
# What the order page shows besides the order: in its one query, not one lazy load each.
PAGE_LOAD = (joinedload(Order.project), joinedload(Order.lines))
RECEIPT_FIELDS = {"amount": 24, "received_on": 10, "note": 500}
MAX_TEXT = 2000


@bp.get("/m/orders")
@login_required
def orders(pg: Page) -> ResponseReturnValue:
    status = request.args.get("status") or None
    if status is not None and status not in ORDER_STATUSES:
        abort(400, "未知的订单状态")
    q = (request.args.get("q") or "").strip()[:64] or None
    found = list_orders(
        pg.session,
        actor=pg.actor,
        status=status,
        customer_id=int_arg("customer"),
        owner_userid=(request.args.get("owner") or "")[:64] or None,
        q=q,
        after_id=int_arg("after"),
        limit=PAGE + 1,
    )
    page = found[:PAGE]
    preload_order_refs(pg.session, page)
    return render_template(
        "web/orders.html",
        orders=page,
        more=len(found) > PAGE,
        status=status,
        q=q or "",
        statuses=ORDER_STATUSES,
        may_create=pg.actor.has_role(*CREATOR_ROLES),
    )


def render_order(pg: Page, no: str, error: str | None = None, **extra: Any) -> str:
    order = get_order(pg.session, actor=pg.actor, number=no[:32], load=PAGE_LOAD)
    show_money = can_see_money(pg.actor, order)
    finance = can_record_receipt(pg.actor)
    # Each part of the page is loaded once and handed to the next reader (bench/pages.py).
    plan = plan_of(pg.session, order) if show_money else None
    requests = approvals.requests_of(pg.session, order)
    pending = next((r for r in requests if r.status == "pending"), None)
    items, _ = activity_page(pg.session, order_id=order.id, before_id=None, limit=30)
    today = clock.today(clock.company_tz(pg.session))
    return render_template(
        "web/order.html",
        order=order,
        show_money=show_money,
        money=summarize(order, plan, today) if show_money else None,
        plan=plan,
        payments=payments_of(pg.session, actor=pg.actor, order=order, plan=plan)
        if plan is not None
        else None,
        invoice_forms=invoice_forms(pg.session, order, plan) if show_money and finance else [],
        approval=requests[0] if requests else None,
        step=approvals.current_step_label(pg.session, order, pending) if pending else None,
        project=project_summary(pg.session, order.project) if order.project else None,
        timeline=[(a, body_for_reader(a, pg.actor)) for a in items],
        actions=actions_for(pg.actor, order),
        receipt_form=finance,
        error=error,
        **extra,
    )


@bp.get("/m/orders/<no>")
@login_required
def order_detail(pg: Page, no: str) -> ResponseReturnValue:
    return render_order(pg, no)


@bp.post("/m/orders/<no>/act")
@login_required
def order_act(pg: Page, no: str) -> ResponseReturnValue:
    """Submit for approval or move the order by hand; the services decide, the page reports."""
    to = (request.form.get("to") or "").strip()[:32]
    reason = (request.form.get("reason") or "").strip()[:500] or None
    try:
        if to == SUBMIT:
            approvals.submit(pg.session, actor=pg.actor, number=no[:32])
        else:
            transition(pg.session, actor=pg.actor, number=no[:32], to=to, reason=reason)
    except (NotFound, PermissionDenied):
        raise
    except DomainError as exc:
        return order_refused(pg, no, exc)
    return redirect(url_for("web.order_detail", no=no))


def order_refused(pg: Page, no: str, exc: DomainError, **extra: Any) -> ResponseReturnValue:
    """The order page again, with the reason an action on it was refused (400 or 409)."""
    # Nothing of a refused action may stay: undo, then show the page with the reason.
    pg.session.rollback()
    status = 400 if isinstance(exc, ValidationFailed) else 409
    return render_order(pg, no, error=exc.message, **extra), status


@bp.post("/m/orders/<no>/progress")
@login_required
def order_progress(pg: Page, no: str) -> ResponseReturnValue:
    """A progress note with photos from the phone camera (the API's rules: attachments.py)."""
    order = get_order(pg.session, actor=pg.actor, number=no[:32])  # scope before storing
    uploads = [
        Upload(f.filename or "photo", f.read(), f.mimetype or "application/octet-stream")
        for f in request.files.getlist("files")
        if f.filename
    ]
    created: list[Path] = []
    try:
        stored, created = store_files(
            pg.session,
            rt_settings=pg.rt.settings,
            actor=pg.actor,
            uploads=uploads,
            order_id=order.id,
        )
        pg.session.flush()
        add_progress(
            pg.session,
            actor=pg.actor,
            number=order.number,
            text=(request.form.get("text") or "")[:MAX_TEXT],
            files=stored,
        )
        pg.session.flush()
    except DomainError as exc:
        discard_files(created)  # refused after writing: leave no file without its row
        if isinstance(exc, NotFound | PermissionDenied):
            raise
        return order_refused(pg, no, exc)
    return redirect(url_for("web.order_detail", no=order.number))


@bp.post("/m/orders/<no>/hours")
@login_required
def order_hours(pg: Page, no: str) -> ResponseReturnValue:
    order = get_order(pg.session, actor=pg.actor, number=no[:32])
    try:
        log_hours(
            pg.session,
            actor=pg.actor,
            ref=order.number,
            hours=(request.form.get("hours") or "").strip()[:16],
            note=(request.form.get("note") or "").strip()[:200] or None,
        )
    except (NotFound, PermissionDenied):
        raise
    except DomainError as exc:
        return order_refused(pg, no, exc)
    return redirect(url_for("web.order_detail", no=order.number))


@bp.post("/m/orders/<no>/receipts")
@login_required
def order_receipt(pg: Page, no: str) -> ResponseReturnValue:
    """Finance records money received; money.receipts allocates it (finance only, locked)."""
    order = get_order(pg.session, actor=pg.actor, number=no[:32])
    raw_day = (request.form.get("received_on") or "").strip()
    received_on = parse_day(raw_day) if raw_day else None
    if raw_day and received_on is None:
        return order_refused(pg, no, ValidationFailed(f"收款日期无效({DAY_RULE_ZH})"))
    asked = {k: (request.form.get(k) or "").strip()[:n] for k, n in RECEIPT_FIELDS.items()}
    try:
        record_receipt(
            pg.session,
            actor=pg.actor,
            number=order.number,
            amount=asked["amount"],
            received_on=received_on,
            note=asked["note"] or None,
            confirm_duplicate=request.form.get("confirm_duplicate") == "1",
        )
        pg.session.flush()
    except NotFound:
        raise
    except PossibleDuplicate as exc:
        # "可能重复,确认登记?": a question, not a failure (200): the page asks again with
        # the same figures and a confirm button.
        pg.session.rollback()
        return render_order(pg, no, error=exc.message, duplicate=asked)
    except DomainError as exc:
        return order_refused(pg, no, exc)
    return redirect(url_for("web.order_detail", no=order.number))


@bp.get("/m/order/detail")
def legacy_order_link() -> ResponseReturnValue:
    # Cards sent before the link builder moved to /m/orders/<no> still open the right page.
    no = (request.args.get("no") or "").strip()[:32]
    if not no:
        abort(404)
    return redirect(url_for("web.order_detail", no=no), 301)
