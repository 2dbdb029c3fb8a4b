"""Scheduled after-sales ticket work: the SLA scan (reminders and escalation)."""

from __future__ import annotations

import logging

from orderdesk import runtime
from orderdesk.delivery.ticket_scan import scan

log = logging.getLogger(__name__)


def sla_scan() -> dict[str, int]:
    """Remind before an SLA breach and escalate after it, once per ticket and level."""
    rt = runtime.current()
    with rt.db.transaction() as session:
        result = scan(session)
    escalated = sum(result.escalated.values())
    if result.reminded or escalated:
        log.info("tickets: %d reminded, %d escalated", result.reminded, escalated)
    return {"reminded": result.reminded, "escalated": escalated, "messages": result.messages}
