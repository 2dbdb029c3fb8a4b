"""Deliver outbox rows. Sandbox mode records the payload as sent without any network call.

(Live delivery, retries with backoff and rate limits are the WeCom-edge issue's work.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from models.wecom import OutboxMessage
from services import clock

if TYPE_CHECKING:
    from runtime import Runtime


def deliver_due(rt: Runtime, *, limit: int = 200) -> int:
    with rt.db.transaction() as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= clock.now())
            .order_by(OutboxMessage.id)
            .limit(limit)
        ).all()
        for row in rows:
            row.attempts += 1
            if rt.settings.sandbox:
                row.status = "sent"
                row.sent_at = clock.now()
        return len(rows)
