"""Small helpers shared by the order service modules (flush with conflict mapping, lookups)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from orderdesk.core.errors import Conflict
from orderdesk.models import Order, Staff


def conflict_message(editor_name: str | None) -> str:
    return f"订单已被 {editor_name or '他人'} 修改,请刷新后重试"


def _last_editor(session: Session, order_id: int) -> str | None:
    """Who changed the order last, read in a separate session (ours is unusable after a
    failed flush, and its identity map still holds the stale row)."""
    bind = session.get_bind()
    with Session(bind=bind) as fresh:
        row = fresh.execute(
            select(Staff.name)
            .join(Order, Order.updated_by_id == Staff.id)
            .where(Order.id == order_id)
        ).first()
        return row[0] if row else None


@contextmanager
def stale_as_conflict(session: Session, order: Order) -> Iterator[None]:
    """Turn the optimistic-lock failure of any flush inside (explicit or autoflush) into
    Conflict("订单已被 X 修改,请刷新后重试")."""
    order_id = order.id
    try:
        yield
    except StaleDataError as exc:
        raise Conflict(conflict_message(_last_editor(session, order_id))) from exc


def flush_or_conflict(session: Session, order: Order) -> None:
    """Flush now so a concurrent edit surfaces here as Conflict (optimistic lock on `version`)."""
    with stale_as_conflict(session, order):
        session.flush()
