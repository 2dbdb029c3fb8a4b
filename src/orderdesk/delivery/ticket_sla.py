"""SLA of after-sales tickets: the policy per priority and the moments it fixes on a ticket.

A policy is either around the clock (P1 by default) or counted in business hours: the minutes
run only inside BUSINESS_HOURS on working days of the company calendar (`core.workdays`), so a
P3 raised on Friday evening is due in the middle of the next working day, not over the weekend.
Policies come from the `ticket_slas` config section; a priority without a row uses DEFAULTS.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.core.workdays import business_hours, is_working_day
from orderdesk.models import Ticket, TicketSla

if TYPE_CHECKING:
    from orderdesk.settings import Settings

# Ten years of days: a calendar without a single working day is a configuration error.
_MAX_DAYS = 3660


@dataclass(frozen=True)
class Policy:
    first_response_minutes: int
    resolution_minutes: int
    around_the_clock: bool
    remind_before_minutes: int = 30
    escalate_every_minutes: int = 120


DEFAULTS = {
    "P1": Policy(60, 8 * 60, True, remind_before_minutes=15, escalate_every_minutes=60),
    "P2": Policy(2 * 60, 11 * 60, False),
    "P3": Policy(8 * 60, 33 * 60, False, remind_before_minutes=60, escalate_every_minutes=240),
    "P4": Policy(11 * 60, 55 * 60, False, remind_before_minutes=120, escalate_every_minutes=660),
}


def policy_for(session: Session, priority: str) -> Policy:
    row = session.scalar(select(TicketSla).where(TicketSla.code == priority))
    if row is None:
        return DEFAULTS[priority]
    return Policy(
        row.first_response_minutes,
        row.resolution_minutes,
        row.around_the_clock,
        row.remind_before_minutes,
        row.escalate_every_minutes,
    )


def add_business_minutes(start: datetime, minutes: int, settings: Settings) -> datetime:
    """`start` plus `minutes` counted only inside business hours of working days (UTC out)."""
    tz = settings.tz
    opens, closes = business_hours(settings)
    remaining = timedelta(minutes=max(minutes, 0))
    cursor = start.astimezone(tz)
    day = cursor.date()
    for _ in range(_MAX_DAYS):
        if is_working_day(day, settings):
            window_end = datetime.combine(day, closes, tz)
            begin = max(cursor, datetime.combine(day, opens, tz))
            if begin < window_end:
                if remaining <= window_end - begin:
                    return (begin + remaining).astimezone(UTC)
                remaining -= window_end - begin
        day += timedelta(days=1)
        cursor = datetime.combine(day, time(0), tz)
    raise ValueError("no working day in ten years: check HOLIDAYS / BUSINESS_HOURS")


def business_minutes_between(start: datetime, end: datetime, settings: Settings) -> int:
    """Whole business minutes in [start, end) (working days, inside BUSINESS_HOURS)."""
    tz = settings.tz
    opens, closes = business_hours(settings)
    total = timedelta(0)
    day, stop = start.astimezone(tz).date(), end.astimezone(tz)
    while day <= stop.date():
        if is_working_day(day, settings):
            begin = max(start.astimezone(tz), datetime.combine(day, opens, tz))
            finish = min(stop, datetime.combine(day, closes, tz))
            total += max(finish - begin, timedelta(0))
        day += timedelta(days=1)
    return int(total.total_seconds() // 60)


def add_minutes(
    start: datetime, minutes: int, around_the_clock: bool, settings: Settings
) -> datetime:
    if around_the_clock:
        return start + timedelta(minutes=minutes)
    return add_business_minutes(start, minutes, settings)


def start_clock(ticket: Ticket, policy: Policy, start: datetime, settings: Settings) -> None:
    """(Re)start the SLA at `start`: both due times, then the next target's moments."""
    ticket.around_the_clock = policy.around_the_clock
    ticket.sla_started_at = start
    ticket.first_response_due_at = add_minutes(
        start, policy.first_response_minutes, policy.around_the_clock, settings
    )
    ticket.resolution_due_at = add_minutes(
        start, policy.resolution_minutes, policy.around_the_clock, settings
    )
    arm(ticket, policy, settings)


def pause(ticket: Ticket, now: datetime) -> None:
    """Waiting for the client: the clock stops (the scan finds no moment to act on)."""
    ticket.paused_at = now
    ticket.remind_at = ticket.breach_at = ticket.escalate2_at = ticket.escalate3_at = None


def resume(ticket: Ticket, now: datetime, settings: Settings) -> None:
    """Back from waiting: every due time moves on by the time the clock stood still (business
    minutes for a business-hours SLA). The caller re-arms the moments."""
    if ticket.paused_at is None:
        return
    clock24 = ticket.around_the_clock
    if clock24:
        minutes = int((now - ticket.paused_at).total_seconds() // 60)
    else:
        minutes = business_minutes_between(ticket.paused_at, now, settings)
    ticket.paused_at = None
    if minutes <= 0:
        return
    ticket.sla_started_at = add_minutes(ticket.sla_started_at, minutes, clock24, settings)
    ticket.first_response_due_at = add_minutes(
        ticket.first_response_due_at, minutes, clock24, settings
    )
    ticket.resolution_due_at = add_minutes(ticket.resolution_due_at, minutes, clock24, settings)


def arm(ticket: Ticket, policy: Policy, settings: Settings) -> None:
    """Point remind / breach / escalation moments at the next target still open: the first
    response, else the resolution; a closed or resolved ticket has none (the scan skips it)."""
    if not ticket.is_open or ticket.paused_at is not None:
        ticket.remind_at = ticket.breach_at = ticket.escalate2_at = ticket.escalate3_at = None
        return
    if ticket.first_response_at is None:
        total, due = policy.first_response_minutes, ticket.first_response_due_at
    else:
        total, due = policy.resolution_minutes, ticket.resolution_due_at
    clock24 = ticket.around_the_clock
    lead = max(total - policy.remind_before_minutes, 0)
    remind_at = add_minutes(ticket.sla_started_at, lead, clock24, settings)
    if remind_at != ticket.remind_at:
        ticket.reminded_at = None  # a new target earns its own reminder
    ticket.remind_at = remind_at
    ticket.breach_at = due
    step = policy.escalate_every_minutes
    ticket.escalate2_at = add_minutes(due, step, clock24, settings)
    ticket.escalate3_at = add_minutes(due, 2 * step, clock24, settings)
