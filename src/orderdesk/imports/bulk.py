"""Bulk writes for the kinds that come in by the hundred thousand (customers, orders): one
multi-row INSERT per batch instead of one ORM flush per row, with the timeline entries the
services would have written. The rules (validation, duplicate guard, scope) are applied before,
per row.

Core INSERTs without RETURNING: the ORM's bulk path with RETURNING split the batches into a few
rows per statement on psycopg (Python-side defaults), 20 times slower; the new ids are read back
by the external key instead, one SELECT per batch.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.models import Activity

BATCH = 2000
T = TypeVar("T")


def chunks(rows: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(rows), BATCH):
        yield rows[start : start + BATCH]


def insert_rows(
    session: Session, model: Any, rows: Sequence[dict[str, Any]], *, key: str
) -> list[int]:
    """INSERT the rows in batches; their new ids in the rows' order, found by the unique `key`."""
    now = clock.now()
    table, column = model.__table__, getattr(model, key)
    ids: list[int] = []
    for start in range(0, len(rows), BATCH):
        chunk = [{"created_at": now, "updated_at": now, **r} for r in rows[start : start + BATCH]]
        session.execute(insert(table), chunk)
        keys = [r[key] for r in chunk]
        found = {k: i for k, i in session.execute(select(column, model.id).where(column.in_(keys)))}
        ids.extend(found[k] for k in keys)
    return ids


def timeline(session: Session, entries: Sequence[dict[str, Any]]) -> None:
    """Timeline (Activity) rows: kind, actor_id, body and order_id / customer_id."""
    now = clock.now()
    base = {
        "data": {},
        "internal": True,
        "created_at": now,
        "order_id": None,
        "customer_id": None,
        "project_id": None,
        "ip": None,
        "user_agent": None,
    }
    rows = [{**base, **e} for e in entries]
    for start in range(0, len(rows), BATCH):
        session.execute(insert(Activity.__table__), rows[start : start + BATCH])
