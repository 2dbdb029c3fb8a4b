"""The SLA scan: reminders before a breach, escalation after it, once per ticket and level.

Set-based: each step is ONE conditional UPDATE over the open tickets whose stored moment has
passed (`remind_at`, `breach_at`, `escalate2_at`, `escalate3_at`), returning what it claimed.
The condition on the current level is the claim: on PostgreSQL a second worker running the same
UPDATE waits for the first one's row locks, re-checks the condition and finds nothing; on SQLite
the write lock serialises the two. Re-running the scan therefore never repeats a notice.

Business-hours tickets are only chased inside BUSINESS_HOURS on working days; around-the-clock
(P1) tickets at any hour. Notices are batched: one message per person and level listing their
tickets. Levels: 1 the assignee (or the queue), 2 their manager, 3 the business line head.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, insert, literal, select, true, update
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.core.workdays import in_business_hours
from orderdesk.delivery import ticket_messages as texts
from orderdesk.models import Department, Staff, StaffRole, Ticket, TicketEvent, TicketQueue
from orderdesk.models.base import UTCDateTime
from orderdesk.models.ticket import OPEN_TICKET_STATUSES
from orderdesk.money.digests import queue_batch
from orderdesk.wecom import cards

NOTICE_LINES = 12
STEP_COLUMNS = {1: Ticket.breach_at, 2: Ticket.escalate2_at, 3: Ticket.escalate3_at}


@dataclass
class ScanResult:
    reminded: int = 0
    escalated: dict[int, int] = field(default_factory=dict)
    messages: int = 0


# What each claim hands back: id, number, priority, title, assignee, business line, order.
_RETURNED: tuple[Any, ...] = (
    Ticket.id,
    Ticket.number,
    Ticket.priority,
    Ticket.title,
    Ticket.assignee_id,
    Ticket.business_line_id,
    Ticket.order_id,
)


def _log(session: Session, level: int, *claimed: ColumnElement[bool], now: datetime) -> None:
    """One timeline line per claimed ticket, written by the database (INSERT ... SELECT): a
    round trip per ticket would cost more than the whole scan."""
    body = f"SLA:{texts.LEVEL_ZH[level]}"
    rows = select(
        Ticket.id, literal("sla"), literal(body), literal(now, type_=UTCDateTime())
    ).where(*claimed)
    session.execute(
        insert(TicketEvent).from_select(["ticket_id", "kind", "body", "created_at"], rows)
    )


def _claim(
    session: Session, values: dict[str, Any], *conditions: ColumnElement[bool]
) -> list[Row[Any]]:
    stmt = (
        update(Ticket)
        .where(Ticket.status.in_(OPEN_TICKET_STATUSES), *conditions)
        .values(**values)
        .returning(*_RETURNED)
        .execution_options(synchronize_session=False)
    )
    return list(session.execute(stmt).all())


def scan(session: Session, *, now: datetime | None = None) -> ScanResult:
    """One pass (the caller owns the transaction)."""
    now = now or clock.now()
    settings = clock.settings_of(session)
    # One answer for the whole pass: inside the window every ticket may be chased.
    hours_ok = true() if in_business_hours(now, settings) else Ticket.around_the_clock.is_(True)
    result = ScanResult()
    claimed: dict[int, list[Row[Any]]] = {}
    claimed[0] = _claim(
        session,
        {"reminded_at": now},
        Ticket.reminded_at.is_(None),
        Ticket.escalation_level == 0,
        Ticket.remind_at <= now,
        hours_ok,
    )
    result.reminded = len(claimed[0])
    if claimed[0]:
        _log(session, 0, Ticket.reminded_at == now, now=now)
    for level, column in STEP_COLUMNS.items():
        claimed[level] = _claim(
            session,
            {"escalation_level": level, "escalated_at": now, "breached": True},
            Ticket.escalation_level == level - 1,
            column <= now,
            hours_ok,
        )
        result.escalated[level] = len(claimed[level])
        if claimed[level]:
            # Before the next level's UPDATE: exactly the rows this one claimed.
            _log(
                session,
                level,
                Ticket.escalated_at == now,
                Ticket.escalation_level == level,
                now=now,
            )
    if any(claimed.values()):
        result.messages = _notify(session, claimed, now)
    return result


class _People:
    """Every recipient rule resolved from a handful of small look-ups (staff are few)."""

    def __init__(self, session: Session) -> None:
        rows = session.execute(
            select(Staff.id, Staff.userid, Staff.manager_id, Staff.department_id, Staff.active)
        ).all()
        self.staff = {r[0]: r for r in rows}
        self.by_userid = {r[1]: r for r in rows}
        heads = session.execute(select(Department.id, Department.head_userid)).all()
        self.dept_head = {d: h for d, h in heads if h}
        queues = session.scalars(select(TicketQueue)).all()
        self.queue = {q.business_line_id: q for q in queues}
        self.team: dict[int, list[str]] = defaultdict(list)
        for r in rows:
            if r[4] and r[3] is not None:
                self.team[r[3]].append(r[1])
        gms = session.scalars(
            select(Staff.userid)
            .join(StaffRole, StaffRole.staff_id == Staff.id)
            .where(StaffRole.role == "gm", Staff.active.is_(True))
        )
        self.gms = sorted(gms)

    def _active(self, userid: str | None) -> list[str]:
        row = self.by_userid.get(userid or "")
        return [row[1]] if row is not None and row[4] else []

    def for_level(self, level: int, assignee_id: int | None, line_id: int | None) -> list[str]:
        queue = self.queue.get(line_id) if line_id is not None else None
        person = self.staff.get(assignee_id) if assignee_id is not None else None
        if level <= 1:
            if person is not None:
                return [person[1]] if person[4] else []
            return (
                sorted(self.team.get(queue.department_id, []))
                if queue and queue.department_id
                else []
            )
        if level == 2:
            if person is not None:
                boss = self.staff.get(person[2]) if person[2] else None
                if boss is not None and boss[4]:
                    return [boss[1]]
                return self._active(self.dept_head.get(person[3]))
            dept = queue.department_id if queue else None
            return self._active(self.dept_head.get(dept)) if dept else []
        head = self._active(queue.head_userid) if queue else []
        return head or self.gms


def _notify(session: Session, claimed: dict[int, list[Row[Any]]], now: datetime) -> int:
    people = _People(session)
    messages: list[dict[str, Any]] = []
    stamp = now.strftime("%Y%m%dT%H%M%S")
    for level, rows in claimed.items():
        per_person: dict[str, list[Row[Any]]] = defaultdict(list)
        for row in rows:
            for userid in people.for_level(level, row[4], row[5]):
                per_person[userid].append(row)
        messages += _messages(level, per_person, stamp)
    return len(queue_batch(session, messages, not_before=now))


def _messages(
    level: int, per_person: dict[str, list[Row[Any]]], stamp: str
) -> list[dict[str, Any]]:
    out = []
    for userid, rows in per_person.items():
        ordered: Sequence[Row[Any]] = sorted(rows, key=lambda r: (r[2], r[0]))
        shown = [(r[1], r[2], r[3]) for r in ordered[:NOTICE_LINES]]
        text = texts.sla_notice(level, shown, len(ordered) - len(shown))
        out.append(
            {
                # The claim made the notice unique; the key also names the first ticket so two
                # passes in the same second never share one.
                "key": f"ticket-sla:L{level}:{userid}:{stamp}:{ordered[0][0]}",
                "channel": "app_message",
                "recipient": userid,
                "payload": cards.app_markdown(text),
                "order_id": ordered[0][6] if len(ordered) == 1 else None,
            }
        )
    return out
