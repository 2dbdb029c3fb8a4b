"""The timeline: one ordered feed per order (and per customer / project).

Every service that changes something calls `record()` in the same transaction as the change.
An entry that states an amount also carries `plain`, the same entry without the figure: readers
who may not see the order's money (PMs, delivery staff) get that one (`body_for`).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.directory.permissions import MONEY_ROLES, can_see_money
from orderdesk.models import Activity, Order, Project, Staff


def record(
    session: Session,
    *,
    kind: str,
    actor: Staff | None,
    body: str,
    order: Order | None = None,
    project: Project | None = None,
    customer_id: int | None = None,
    data: dict[str, Any] | None = None,
    internal: bool = True,
    ip: str | None = None,
    user_agent: str | None = None,
    plain: str | None = None,
) -> Activity:
    """Append one timeline entry. Customer and project are filled in from the order when known.
    `plain`: the entry without amounts, when `body` states one."""
    if order is not None:
        customer_id = customer_id or order.customer_id
        if project is None and order.project is not None:
            project = order.project
    if project is not None and order is None:
        order = project.order
        customer_id = customer_id or (order.customer_id if order else None)
    activity = Activity(
        kind=kind,
        actor_id=actor.id if actor else None,
        body=body,
        data={**(data or {}), **({PLAIN_KEY: plain} if plain is not None else {})},
        internal=internal,
        order_id=order.id if order else None,
        project_id=project.id if project else None,
        customer_id=customer_id,
        ip=ip,
        user_agent=(user_agent or "")[:256] or None,
        created_at=clock.now(),
    )
    session.add(activity)
    return activity


PLAIN_KEY = "plain"
MONEY_KINDS = ("created", "updated", "payment", "invoice")
# Older entries have no `plain`: their figures (always printed with cents) are masked instead.
FIGURE_RE = re.compile(r"¥\s?-?[\d,]+(?:\.\d+)?|-?\d[\d,]*\.\d{2}\b(?:\s?元)?")


def body_for_reader(activity: Activity, reader: Staff) -> str:
    """The entry for `reader`: figures only when they may see the money of its order (entries
    without an order: the money roles)."""
    order = activity.order
    if order is not None:
        return body_for(activity, show_money=can_see_money(reader, order))
    return body_for(activity, show_money=reader.active and reader.has_role(*MONEY_ROLES))


def body_for(activity: Activity, *, show_money: bool) -> str:
    """The entry as this reader may see it: without any amount unless they may see money."""
    if show_money:
        return activity.body
    plain = (activity.data or {}).get(PLAIN_KEY)
    if isinstance(plain, str):
        return plain
    if activity.kind in MONEY_KINDS:
        return FIGURE_RE.sub("¥—", activity.body)
    return activity.body
