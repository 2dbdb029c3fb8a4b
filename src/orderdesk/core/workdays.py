"""Working days and business hours, as every schedule sees them.

A day is a working day by China's official calendar (holidays and make-up working days, 调休,
from the maintained package chinese-calendar), adjusted by the company's HOLIDAYS and WORKDAYS
settings. Business hours (BUSINESS_HOURS, company time) apply on working days only.
"""

from __future__ import annotations

import calendar as stdlib_calendar
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import TYPE_CHECKING

import chinese_calendar

if TYPE_CHECKING:
    from orderdesk.settings import Settings


def _hhmm(raw: str) -> time:
    hh, mm = raw.strip().split(":")
    return time(int(hh), int(mm))


def _dates(raw: str) -> frozenset[date]:
    return frozenset(date.fromisoformat(d.strip()) for d in raw.split(",") if d.strip())


def holidays(settings: Settings) -> frozenset[date]:
    return _dates(settings.holidays)


def workdays(settings: Settings) -> frozenset[date]:
    return _dates(settings.workdays)


# Why a day is (not) a working day, as `orderdesk calendar` shows it.
WORKDAY_SETTING = "WORKDAYS"
HOLIDAY_SETTING = "HOLIDAYS"
OFFICIAL_HOLIDAY = "法定假日"
MAKE_UP_WORKDAY = "调休上班"
WEEKEND = "周末"
WEEKDAY = "工作日"


def day_kind(day: date, settings: Settings) -> tuple[bool, str]:
    """(working?, why). The company's own WORKDAYS and HOLIDAYS win; then China's official
    calendar (holidays and make-up working days, package chinese-calendar); for a year it does
    not know yet (the State Council publishes each year in November), plain weekends."""
    if day in workdays(settings):
        return True, WORKDAY_SETTING
    if day in holidays(settings):
        return False, HOLIDAY_SETTING
    official = official_workday(day)
    weekday = day.weekday() < 5
    if official is None or official == weekday:
        return weekday, WEEKDAY if weekday else WEEKEND
    return official, MAKE_UP_WORKDAY if official else OFFICIAL_HOLIDAY


def official_workday(day: date) -> bool | None:
    """China's official answer for `day`, or None when the package has no data for its year."""

    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return None


def is_working_day(day: date, settings: Settings) -> bool:
    return day_kind(day, settings)[0]


def business_hours(settings: Settings) -> tuple[time, time]:
    start, end = settings.business_hours.split("-")
    return _hhmm(start), _hhmm(end)


def in_business_hours(at: datetime, settings: Settings) -> bool:
    local = at.astimezone(settings.tz)
    start, end = business_hours(settings)
    return is_working_day(local.date(), settings) and start <= local.time() < end


@dataclass(frozen=True)
class CalendarDay:
    """One day of a month as the scheduler sees it (`why` names the rule that decided)."""

    day: date
    working: bool
    why: str

    @property
    def special(self) -> bool:
        """Not a plain weekday or weekend: a holiday, a make-up day or a company setting."""
        return self.why not in (WEEKDAY, WEEKEND)


def month_weeks(settings: Settings, year: int, month: int) -> list[list[CalendarDay | None]]:
    """The month's weeks, Monday first; None pads the days of the neighbouring months. Both
    `orderdesk calendar` and the admin calendar page draw this grid."""
    weeks: list[list[CalendarDay | None]] = []
    for week in stdlib_calendar.Calendar().monthdatescalendar(year, month):
        row: list[CalendarDay | None] = []
        for day in week:
            row.append(None if day.month != month else CalendarDay(day, *day_kind(day, settings)))
        weeks.append(row)
    return weeks
