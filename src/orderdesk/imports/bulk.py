"""Bulk writes for the kinds that come in by the hundred thousand (customers, orders): one
INSERT per batch instead of one ORM flush per row, with the timeline entries the services would
have written. The rules (validation, duplicate guard, scope) are applied before, per row."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.models import Activity

BATCH = 2000


def insert_returning_ids(session: Session, model: Any, rows: Sequence[dict[str, Any]]) -> list[int]:
    """INSERT the rows in batches; their new ids in the rows' order."""
    ids: list[int] = []
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        stmt = insert(model).returning(model.id, sort_by_parameter_order=True)
        ids.extend(session.scalars(stmt, list(chunk)).all())
    return ids


def timeline(session: Session, entries: Sequence[dict[str, Any]]) -> None:
    """Timeline (Activity) rows: kind, actor_id, body and order_id / customer_id."""
    now = clock.now()
    rows = [{"data": {}, "internal": True, "created_at": now, **e} for e in entries]
    for start in range(0, len(rows), BATCH):
        session.execute(insert(Activity), rows[start : start + BATCH])
