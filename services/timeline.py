"""The timeline: one ordered feed per order (and per customer / project).

Every service that changes something calls `record()` in the same transaction as the change.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from models import Activity, Order, Project, Staff
from services import clock


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
) -> Activity:
    """Append one timeline entry. Customer and project are filled in from the order when known."""
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
        data=data or {},
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
