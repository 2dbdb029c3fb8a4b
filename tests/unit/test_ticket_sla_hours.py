"""Business-hours SLA arithmetic: the minutes run only inside BUSINESS_HOURS on working days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from orderdesk.delivery.ticket_sla import add_business_minutes, add_minutes
from orderdesk.settings import load_settings

CST = ZoneInfo("Asia/Shanghai")
# 2026-12-07 is a Monday; the company takes it off (HOLIDAYS), and works Saturday 12-12.
SETTINGS = load_settings(
    {"HOLIDAYS": "2026-12-07", "WORKDAYS": "2026-12-12", "BUSINESS_HOURS": "09:00-18:00"},
    dotenv=False,
)


def cst(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=CST)


def test_minutes_skip_the_night_the_weekend_and_a_holiday() -> None:
    friday_evening = cst(2026, 12, 4, 17, 0)
    due = add_business_minutes(friday_evening, 120, SETTINGS)
    # 60 minutes on Friday, nothing on Saturday, Sunday or the Monday holiday, 60 on Tuesday.
    assert due == cst(2026, 12, 8, 10, 0).astimezone(UTC)


def test_a_start_at_night_waits_for_the_window_and_a_make_up_saturday_counts() -> None:
    assert add_business_minutes(cst(2026, 12, 9, 23, 30), 30, SETTINGS) == cst(
        2026, 12, 10, 9, 30
    ).astimezone(UTC)
    friday = cst(2026, 12, 11, 17, 30)
    assert add_business_minutes(friday, 90, SETTINGS) == cst(2026, 12, 12, 10, 0).astimezone(UTC)


def test_a_long_target_spans_whole_days_and_around_the_clock_does_not_care() -> None:
    monday = cst(2026, 12, 14, 9, 0)
    # three full nine-hour days
    assert add_business_minutes(monday, 27 * 60, SETTINGS) == cst(2026, 12, 16, 18, 0).astimezone(
        UTC
    )
    saturday_night = cst(2026, 12, 5, 2, 0)
    assert add_minutes(saturday_night, 60, True, SETTINGS) == saturday_night + timedelta(hours=1)
