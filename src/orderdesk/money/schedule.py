"""When things may be sent: business hours, working days, holidays, and the :00/:30 rule.

Also the money/schedule knobs. They are read from `settings.extra` (ORDERDESK_* variables) so
that times and levels are settings without widening the shared Settings class:

    ORDERDESK_DUE_SOON_DAYS=7,1           days before a due date that the owner gets a card
    ORDERDESK_DUNNING_DAYS=1,7,15,30      overdue levels: owner; +finance; +manager; +gm
    ORDERDESK_DIGEST_TIME=09:10           morning digest (working days)
    ORDERDESK_WEEKLY_DIGEST=mon 09:40     weekly project digest
    ORDERDESK_CLIENT_REMINDER_CAP=4       client reminders per customer per calendar month
    ORDERDESK_CLIENT_REMINDER_DAYS=3      remind clients this many days before a due date

Business hours apply on working days only (`core.workdays`): China's official calendar with
its make-up working days, adjusted by the HOLIDAYS and WORKDAYS settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from orderdesk.core.workdays import business_hours, is_working_day

if TYPE_CHECKING:
    from orderdesk.settings import Settings


# Minutes a batch is nudged by when it would land on :00 or :30 (platform advice).
AVOID_MINUTES = (0, 30)
NUDGE_MINUTES = 3
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _hhmm(raw: str) -> time:
    hh, mm = raw.strip().split(":")
    return time(int(hh), int(mm))


def _days(raw: str) -> tuple[int, ...]:
    values = sorted({int(x) for x in raw.split(",") if x.strip()}, reverse=True)
    if not values or any(v < 0 for v in values):
        raise ValueError(f"bad day list {raw!r}")
    return tuple(values)


@dataclass(frozen=True)
class MoneyConfig:
    due_soon_days: tuple[int, ...] = (7, 1)
    dunning_days: tuple[int, ...] = (1, 7, 15, 30)
    digest_time: time = time(9, 10)
    weekly_day: str = "mon"
    weekly_time: time = time(9, 40)
    client_cap: int = 4
    client_days: int = 3

    @classmethod
    def from_settings(cls, settings: Settings) -> MoneyConfig:
        extra = settings.extra
        weekly = extra.get("ORDERDESK_WEEKLY_DIGEST", "mon 09:40").split()
        if len(weekly) != 2 or weekly[0].lower() not in WEEKDAYS:
            raise ValueError("ORDERDESK_WEEKLY_DIGEST: expected e.g. 'mon 09:40'")
        return cls(
            due_soon_days=_days(extra.get("ORDERDESK_DUE_SOON_DAYS", "7,1")),
            dunning_days=tuple(sorted(_days(extra.get("ORDERDESK_DUNNING_DAYS", "1,7,15,30")))),
            digest_time=_hhmm(extra.get("ORDERDESK_DIGEST_TIME", "09:10")),
            weekly_day=weekly[0].lower(),
            weekly_time=_hhmm(weekly[1]),
            client_cap=int(extra.get("ORDERDESK_CLIENT_REMINDER_CAP", "4")),
            client_days=int(extra.get("ORDERDESK_CLIENT_REMINDER_DAYS", "3")),
        )


def avoid_round_minutes(at: datetime) -> datetime:
    """Move a send time off :00 and :30 (everyone's cron fires there)."""
    if at.minute in AVOID_MINUTES:
        return at.replace(second=0, microsecond=0) + timedelta(minutes=NUDGE_MINUTES)
    return at


def next_send_time(at: datetime, settings: Settings) -> datetime:
    """The earliest moment >= `at` (UTC) inside business hours and not on :00/:30."""
    tz = settings.tz
    start, end = business_hours(settings)
    local = at.astimezone(tz)
    for _ in range(60):  # enough to cross any realistic run of holidays
        day = local.date()
        if is_working_day(day, settings):
            opening = datetime.combine(day, start, tzinfo=tz)
            closing = datetime.combine(day, end, tzinfo=tz)
            candidate = max(local, opening)
            candidate = avoid_round_minutes(candidate)
            if candidate < closing:
                return candidate.astimezone(UTC)
        local = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=tz)
    raise ValueError("no working day in the next 60 days; check HOLIDAYS")


def local_midnight_utc(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=tz).astimezone(UTC)
