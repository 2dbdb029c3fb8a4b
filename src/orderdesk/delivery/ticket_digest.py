"""The tickets part of the morning digest: each assignee's open tickets, as one section of the
message the money digest already sends them (one message per person, not a second one)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.delivery import ticket_messages as texts
from orderdesk.models import Staff, Ticket
from orderdesk.models.ticket import OPEN_TICKET_STATUSES, TICKET_STATUS_ZH


def open_ticket_sections(session: Session) -> dict[str, str]:
    """userid -> the section text, for every active assignee with open tickets (one query)."""
    rows = session.execute(
        select(Staff.userid, Ticket.number, Ticket.priority, Ticket.title, Ticket.status)
        .join(Staff, Staff.id == Ticket.assignee_id)
        .where(Ticket.status.in_(OPEN_TICKET_STATUSES), Staff.active.is_(True))
        .order_by(Staff.userid, Ticket.priority, Ticket.id)
    ).all()
    per_person: dict[str, list[tuple[str, str, str, str]]] = defaultdict(list)
    for userid, number, priority, title, status in rows:
        per_person[userid].append((number, priority, title, TICKET_STATUS_ZH[status]))
    return {userid: texts.digest_section(items) for userid, items in per_person.items()}
