"""An order's version history: v1 is the order as first approved, each approved change adds
the next version with the amount, lines and due dates it left behind."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.models import ChangeRequest, Installment, Order, OrderVersion
from orderdesk.money.collections import plan_of


def _day(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _installments(session: Session, order: Order) -> list[dict[str, Any]]:
    plan = plan_of(session, order)
    if plan is None:
        return []
    rows = session.scalars(
        select(Installment)
        .where(Installment.plan_id == plan.id, Installment.status != "cancelled")
        .order_by(Installment.sequence)
    )
    return [
        {
            "sequence": i.sequence,
            "name": i.name,
            "amount": str(i.amount),
            "due_date": _day(i.due_date),
            "status": i.status,
        }
        for i in rows
    ]


def snapshot(session: Session, order: Order) -> dict[str, Any]:
    """The order's figures and dates as they stand (what a version records)."""
    project = order.project
    lines = [
        {
            "description": line.description,
            "quantity": str(line.quantity),
            "unit_price": str(line.unit_price),
            "amount": str(line.amount),
        }
        for line in order.lines
    ]
    milestones = (
        [
            {"name": m.name, "due_date": _day(m.due_date), "status": m.status}
            for m in project.milestones
        ]
        if project is not None
        else []
    )
    return {
        "lines": lines,
        "installments": _installments(session, order),
        "milestones": milestones,
        "end_date": _day(project.end_date) if project is not None else None,
    }


def record_version(session: Session, order: Order, change: ChangeRequest | None) -> OrderVersion:
    """Append the next version (v1 when `change` is None: the original order)."""
    last = session.scalar(
        select(func.max(OrderVersion.version)).where(OrderVersion.order_id == order.id)
    )
    version = OrderVersion(
        order_id=order.id,
        version=(last or 0) + 1,
        change_request=change,
        amount=order.amount,
        snapshot=snapshot(session, order),
        created_at=clock.now(),
    )
    session.add(version)
    session.flush()
    return version


def ensure_original(session: Session, order: Order) -> None:
    """Keep v1 (the order before its first change) before anything is amended."""
    exists = session.scalar(
        select(OrderVersion.id).where(OrderVersion.order_id == order.id).limit(1)
    )
    if exists is None:
        record_version(session, order, None)


@dataclass(frozen=True)
class VersionView:
    version: int
    amount: Decimal
    change_number: str | None
    created_at: datetime | None
    snapshot: dict[str, Any]


def versions_of(session: Session, order: Order) -> list[VersionView]:
    """Every version, oldest first; an order never changed has only v1 (its current state)."""
    rows = session.scalars(
        select(OrderVersion).where(OrderVersion.order_id == order.id).order_by(OrderVersion.version)
    ).all()
    if not rows:
        return [VersionView(1, order.amount, None, order.created_at, snapshot(session, order))]
    return [
        VersionView(
            v.version,
            v.amount,
            v.change_request.number if v.change_request is not None else None,
            v.created_at,
            v.snapshot,
        )
        for v in rows
    ]
