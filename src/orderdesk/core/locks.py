"""Row locks for read-modify-write on money and capacity, the same call on both databases.

Why: a balance read, checked and written back by two transactions at once loses one of the
writes (20 parallel receipts all saw the same outstanding amount). Every such write first
locks what it reads, then re-reads it:
- PostgreSQL: `SELECT ... FOR UPDATE`; a concurrent writer waits for our commit and then sees
  our result.
- SQLite has no row locks: a no-op UPDATE takes the database write lock first (waiting on
  busy_timeout); pysqlite only opens the transaction at that write, so every read after it
  sees the latest committed state and nobody else writes until we commit.

Fixed lock order, so two transactions never wait on each other in a cycle:
approval_requests -> orders (the optimistic version UPDATE) -> payment_plans -> installments
(by id) -> receipts / invoices -> staff (the day's hours).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import false, select, update
from sqlalchemy.orm import Session

T = TypeVar("T")


def take_write_lock(session: Session, model: Any) -> None:
    """On SQLite: hold the database write lock from here to commit (no-op on PostgreSQL). An
    UPDATE that matches no row still opens the write transaction, and touches nothing (not
    even `updated_at`)."""
    if session.get_bind().dialect.name != "sqlite":
        return
    session.execute(
        update(model)
        .where(false())
        .values(id=model.id)
        .execution_options(synchronize_session=False)
    )


def lock_rows(session: Session, model: type[T], ids: Iterable[int]) -> list[T]:
    """The rows of `model` with these ids, locked in id order and re-read from the database."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    take_write_lock(session, model)
    column: Any = getattr(model, "id")  # noqa: B009  (every locked model has an integer id)
    stmt = (
        select(model)
        .where(column.in_(wanted))
        .order_by(column)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list(session.scalars(stmt))


def lock_row(session: Session, model: type[T], row_id: int) -> T | None:
    """One row, locked and re-read (None when it does not exist)."""
    found = lock_rows(session, model, [row_id])
    return found[0] if found else None
