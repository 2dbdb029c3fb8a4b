"""After-sales tickets (issue 15): list, detail with its timeline, create, and move on."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from orderdesk.core.errors import DomainError, NotFound, PermissionDenied
from orderdesk.delivery import ticket_flow
from orderdesk.delivery.tickets import (
    NewTicket,
    TicketFilter,
    create_ticket,
    get_ticket,
    list_tickets,
)
from orderdesk.models.ticket import (
    PRIORITIES,
    TICKET_CATEGORIES,
    TICKET_CATEGORY_ZH,
    TICKET_STATUS_ZH,
    TICKET_STATUSES,
)
from orderdesk.web import bp
from orderdesk.web.auth import Page, login_required

# The buttons of the detail page: target -> label.
STEPS = {
    "in_progress": "处理中",
    "waiting_client": "待客户反馈",
    "resolved": "已解决",
    "closed": "关闭",
    "reopen": "重新打开",
}


@bp.get("/m/tickets")
@login_required
def tickets(pg: Page) -> ResponseReturnValue:
    status = request.args.get("status") or "open"
    if status not in (*TICKET_STATUSES, "open"):
        status = "open"
    mine = request.args.get("mine") == "1"
    where = TicketFilter(status=status, assignee_id=pg.actor.id if mine else None)
    return render_template(
        "web/tickets.html",
        items=list_tickets(pg.session, actor=pg.actor, where=where, limit=100),
        status=status,
        mine=mine,
        statuses=TICKET_STATUS_ZH,
    )


def _render_detail(pg: Page, number: str, error: str | None = None) -> str:
    ticket = get_ticket(pg.session, actor=pg.actor, number=number)
    return render_template(
        "web/ticket.html",
        t=ticket,
        categories=TICKET_CATEGORY_ZH,
        steps=STEPS,
        error=error,
    )


@bp.get("/m/tickets/<tk>")
@login_required
def ticket_detail(pg: Page, tk: str) -> ResponseReturnValue:
    return _render_detail(pg, tk)


@bp.post("/m/tickets/<tk>/<any(in_progress, waiting_client, resolved, closed, reopen):to>")
@login_required
def ticket_step(pg: Page, tk: str, to: str) -> ResponseReturnValue:
    try:
        ticket_flow.transition(pg.session, actor=pg.actor, number=tk, to=to)
    except NotFound:
        raise
    except (PermissionDenied, DomainError) as exc:
        # Nothing of a refused step may stay: undo, then show the page with the reason.
        pg.session.rollback()
        return _render_detail(pg, tk, error=exc.message), 409
    return redirect(url_for("web.ticket_detail", tk=tk))


@bp.post("/m/tickets/<tk>/comment")
@login_required
def ticket_comment(pg: Page, tk: str) -> ResponseReturnValue:
    try:
        ticket_flow.comment(
            pg.session, actor=pg.actor, number=tk, body=request.form.get("body", "")
        )
    except NotFound:
        raise
    except DomainError as exc:
        pg.session.rollback()
        return _render_detail(pg, tk, error=exc.message), 422
    return redirect(url_for("web.ticket_detail", tk=tk))


def _new_form(error: str | None = None, **values: str) -> str:
    return render_template(
        "web/ticket_new.html",
        priorities=PRIORITIES,
        categories=[(c, TICKET_CATEGORY_ZH[c]) for c in TICKET_CATEGORIES],
        error=error,
        v=values,
    )


@bp.get("/m/tickets/new")
@login_required
def ticket_new(pg: Page) -> ResponseReturnValue:
    return _new_form(order=(request.args.get("order") or "")[:32], priority="P3")


@bp.post("/m/tickets/new")
@login_required
def ticket_create(pg: Page) -> ResponseReturnValue:
    form = {
        k: (request.form.get(k) or "").strip()
        for k in ("order", "title", "description", "priority", "category")
    }
    try:
        ticket = create_ticket(
            pg.session,
            actor=pg.actor,
            data=NewTicket(
                order_number=form["order"],
                title=form["title"][:200],
                description=form["description"][:5000],
                priority=form["priority"] or "P3",
                category=form["category"] or "other",
            ),
        )
    except DomainError as exc:
        pg.session.rollback()
        return _new_form(exc.message, **form), 422
    return redirect(url_for("web.ticket_detail", tk=ticket.number))
