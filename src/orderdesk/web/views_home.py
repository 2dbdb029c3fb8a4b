"""工作台: what waits for me, recent orders, a search box."""

from __future__ import annotations

from datetime import timedelta

from flask import redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from orderdesk.approvals import service as approvals
from orderdesk.core import clock
from orderdesk.money.collections import overdue_for
from orderdesk.orders.actions import can_record_receipt
from orderdesk.orders.lookups import preload_order_refs
from orderdesk.orders.queries import list_orders
from orderdesk.projects.tasks import tasks_due
from orderdesk.web import bp
from orderdesk.web.auth import Page, login_required

RECENT = 10
OVERDUE = 8  # customers with overdue money, largest first
TASK_DAYS = 7  # tasks due within a week (and every overdue one)


@bp.get("/")
def root() -> ResponseReturnValue:
    return redirect(url_for("web.home"))


@bp.get("/m/")
@login_required
def home(pg: Page) -> ResponseReturnValue:
    waiting = approvals.pending_for(pg.session, actor=pg.actor)
    recent = list_orders(pg.session, actor=pg.actor, limit=RECENT)
    preload_order_refs(pg.session, recent)
    today = clock.today(clock.company_tz(pg.session))
    return render_template(
        "web/home.html",
        waiting=waiting,
        recent=recent,
        overdue=overdue_for(pg.session, actor=pg.actor, today=today)[:OVERDUE],
        tasks=tasks_due(pg.session, actor=pg.actor, until=today + timedelta(days=TASK_DAYS)),
        today=today,
        finance=can_record_receipt(pg.actor),
    )
