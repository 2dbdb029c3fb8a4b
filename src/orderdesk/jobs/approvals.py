"""Scheduled approval housekeeping (the scheduler enqueues `remind_and_escalate` periodically)."""

from __future__ import annotations

import logging
from datetime import datetime

from orderdesk import runtime
from orderdesk.approvals.escalation import remind_and_escalate as sweep

log = logging.getLogger(__name__)


def remind_and_escalate(now: datetime | None = None) -> dict[str, int]:
    """Remind approvers of steps waiting past the flow's N hours, escalate past M hours."""
    rt = runtime.current()
    with rt.db.transaction() as session:
        result = sweep(session, now=now)
    if result.reminded or result.escalated:
        log.info("approvals: %d reminded, %d escalated", result.reminded, result.escalated)
    out = {"reminded": result.reminded, "escalated": result.escalated}
    if result.closed:
        out["closed"] = result.closed
    return out
