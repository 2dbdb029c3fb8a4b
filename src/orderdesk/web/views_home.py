"""工作台: what waits for me, recent orders, a search box."""

from __future__ import annotations

from flask import redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from orderdesk.approvals import service as approvals
from orderdesk.orders.lookups import preload_order_refs
from orderdesk.orders.queries import list_orders
from orderdesk.web import bp
from orderdesk.web.auth import Page, login_required

RECENT = 10


@bp.get("/")
def root() -> ResponseReturnValue:
    return redirect(url_for("web.home"))


@bp.get("/m/")
@login_required
def home(pg: Page) -> ResponseReturnValue:
    waiting = approvals.pending_for(pg.session, actor=pg.actor)
    recent = list_orders(pg.session, actor=pg.actor, limit=RECENT)
    preload_order_refs(pg.session, recent)
    return render_template("web/home.html", waiting=waiting, recent=recent)
