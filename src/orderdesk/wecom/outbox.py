"""The transactional outbox: every outgoing message is a row written in the business transaction.

`add()` is what services call. Delivery (worker, retries, sandbox) lives in `wecom.delivery`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.models.wecom import OUTBOX_CHANNELS, OutboxMessage

AFTER = "after"  # payload field read (and removed) by wecom.delivery before sending


def add(
    session: Session,
    *,
    key: str,
    channel: str,
    recipient: str,
    payload: dict[str, Any],
    order_id: int | None = None,
    after: str | None = None,
) -> OutboxMessage:
    """Queue a message once: a second call with the same idempotency key returns the first row.
    `after`: the key of a row that must be sent first (delivery waits for it, dies with it).

    The caller commits; the runtime enqueues delivery after the commit (never before the row
    exists), and the sweeper catches anything whose enqueue was lost.
    """
    if channel not in OUTBOX_CHANNELS:
        raise ValueError(f"unknown outbox channel {channel!r}")
    if not recipient:
        raise ValueError("outbox message without a recipient")
    key = key[:200]
    for pending in session.new:
        if isinstance(pending, OutboxMessage) and pending.idempotency_key == key:
            return pending
    existing = session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == key))
    if existing is not None:
        return existing
    if after:
        payload = {**payload, AFTER: after}
    row = OutboxMessage(
        idempotency_key=key,
        channel=channel,
        recipient=recipient,
        payload=payload,
        status="pending",
        attempts=0,
        next_attempt_at=clock.now(),
        order_id=order_id,
    )
    session.add(row)
    session.info["outbox_dirty"] = True
    return row
