"""Approvals: what waits for me and what I decided, detail, approve and reject with reason."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from orderdesk.approvals import service as approvals
from orderdesk.core.errors import DomainError, NotFound, PermissionDenied
from orderdesk.directory.permissions import can_see_money
from orderdesk.orders.lookups import decided_by, get_approval_request
from orderdesk.web import bp
from orderdesk.web.auth import Page, login_required


@bp.get("/m/approvals")
@login_required
def approvals_list(pg: Page) -> ResponseReturnValue:
    done = request.args.get("state") == "done"
    return render_template(
        "web/approvals.html",
        done=done,
        waiting=[] if done else approvals.pending_for(pg.session, actor=pg.actor),
        decided=decided_by(pg.session, actor=pg.actor) if done else [],
    )


def _render_detail(pg: Page, request_id: int, error: str | None = None) -> str:
    req = get_approval_request(pg.session, actor=pg.actor, request_id=request_id)
    mine = {a.request_id for a in approvals.pending_for(pg.session, actor=pg.actor)}
    return render_template(
        "web/approval.html",
        req=req,
        order=req.order,
        show_money=can_see_money(pg.actor, req.order),
        step=approvals.step_label(pg.session, req),
        can_decide=req.id in mine,
        error=error,
    )


@bp.get("/m/approvals/<int:request_id>")
@login_required
def approval_detail(pg: Page, request_id: int) -> ResponseReturnValue:
    return _render_detail(pg, request_id)


@bp.post("/m/approvals/<int:request_id>/<any(approve, reject):decision>")
@login_required
def approval_decide(pg: Page, request_id: int, decision: str) -> ResponseReturnValue:
    comment = (request.form.get("comment") or "").strip()[:500] or None
    try:
        approvals.decide(
            pg.session,
            actor=pg.actor,
            request_id=request_id,
            decision=decision,
            comment=comment,
        )
    except (NotFound, PermissionDenied):
        raise
    except DomainError as exc:
        # Nothing of a refused decision may stay: undo, then show the page with the reason.
        pg.session.rollback()
        return _render_detail(pg, request_id, error=exc.message), 409
    return redirect(url_for("web.approval_detail", request_id=request_id))


@bp.get("/m/approval/detail")
def legacy_approval_link() -> ResponseReturnValue:
    # Cards sent before the link builder moved to /m/approvals/<id> still open the right page.
    raw = (request.args.get("id") or "").strip()
    if not raw.isdigit() or len(raw) > 12:
        abort(404)
    return redirect(url_for("web.approval_detail", request_id=int(raw)), 301)
