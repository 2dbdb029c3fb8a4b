"""RQ task functions for money and digests. Plain arguments; each opens its own transaction.

The scheduler only enqueues these; a worker (or the in-process pool without Redis) runs them.
"""

from __future__ import annotations

import logging
from typing import Any

from orderdesk import runtime
from orderdesk.core import clock
from orderdesk.delivery.ticket_digest import open_ticket_sections
from orderdesk.money import digests, reminders

log = logging.getLogger(__name__)


def _context() -> tuple[runtime.Runtime, Any, Any]:
    rt = runtime.current()
    now = clock.now()
    return rt, now, now.astimezone(rt.settings.tz).date()


def due_soon_and_dunning() -> dict[str, int]:
    """Due-soon cards (7/1 days before) and dunning levels (day 1/7/15/30 overdue)."""
    rt, now, today = _context()
    with rt.db.transaction() as session:
        stats = reminders.scan_reminders(session, settings=rt.settings, today=today, now=now)
    log.info("reminders: %s due-soon, %s dunning", stats.due_soon, stats.dunning)
    return {"due_soon": stats.due_soon, "dunning": stats.dunning}


def morning_digest() -> dict[str, int]:
    """One digest per owner and per bound internal group (working days only)."""
    rt, now, today = _context()
    with rt.db.transaction() as session:
        # Each assignee's open tickets join their one morning message as a section.
        sections = open_ticket_sections(session)
        stats = digests.morning_digest(
            session, settings=rt.settings, today=today, now=now, sections=sections
        )
    log.info("morning digest: %s messages (%s)", stats.messages, stats.skipped or "sent")
    return {"messages": stats.messages, "people": stats.people, "groups": stats.groups}


def weekly_project_digest() -> dict[str, int]:
    rt, now, today = _context()
    with rt.db.transaction() as session:
        stats = digests.weekly_project_digest(session, settings=rt.settings, today=today, now=now)
    return {"messages": stats.messages}


def client_reminders() -> dict[str, int]:
    """externalcontact/add_msg_template tasks for owners, within the monthly cap."""
    rt, now, today = _context()
    with rt.db.transaction() as session:
        stats = reminders.client_reminders(session, settings=rt.settings, today=today, now=now)
    return {"client": stats.client}
