"""Working days: China's official calendar with make-up working days (package chinese-calendar),
then the company's HOLIDAYS and WORKDAYS; `orderdesk calendar YYYY-MM` shows the result."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from click.testing import CliRunner

from orderdesk.cli import main
from orderdesk.core.workdays import day_kind, is_working_day
from orderdesk.money.schedule import next_send_time
from orderdesk.settings import Settings, SettingsError


def test_official_holidays_and_make_up_workdays() -> None:
    s = Settings()
    assert day_kind(date(2026, 2, 14), s) == (True, "调休上班")  # a Saturday worked (春节)
    assert day_kind(date(2026, 2, 16), s) == (False, "法定假日")  # a Monday off
    assert day_kind(date(2026, 2, 10), s) == (True, "工作日")
    assert day_kind(date(2026, 2, 15), s) == (False, "周末")


def test_company_days_win_over_the_official_calendar() -> None:
    s = Settings(holidays="2026-02-10", workdays="2026-02-16,2026-02-15")
    assert day_kind(date(2026, 2, 10), s) == (False, "HOLIDAYS")
    assert day_kind(date(2026, 2, 16), s) == (True, "WORKDAYS")
    assert is_working_day(date(2026, 2, 15), s)


def test_a_year_without_official_data_falls_back_to_weekends() -> None:
    s = Settings(holidays="2027-02-08")
    assert day_kind(date(2027, 2, 5), s) == (True, "工作日")
    assert day_kind(date(2027, 2, 6), s) == (False, "周末")
    assert not is_working_day(date(2027, 2, 8), s)


def test_pushes_wait_for_the_make_up_workday_not_the_holiday() -> None:
    s = Settings()
    # Friday 2026-02-13 21:00 Shanghai: the next window is the make-up Saturday 02-14 at 09:03.
    friday_night = datetime(2026, 2, 13, 13, 0, tzinfo=UTC)
    assert next_send_time(friday_night, s) == datetime(2026, 2, 14, 1, 3, tzinfo=UTC)
    # Sunday 02-15 evening: Spring Festival runs to 02-23; the next window is 02-24.
    sunday = datetime(2026, 2, 15, 12, 0, tzinfo=UTC)
    assert next_send_time(sunday, s) == datetime(2026, 2, 24, 1, 3, tzinfo=UTC)


def test_workdays_setting_is_validated() -> None:
    with pytest.raises(SettingsError, match="WORKDAYS"):
        Settings().with_overrides(workdays="2026-02-30")
    assert Settings().with_overrides(workdays="2026-02-15, 2026-02-16").workdays


def test_calendar_command_shows_the_month_as_the_scheduler_sees_it() -> None:
    env = {"HOLIDAYS": "2026-02-10", "WORKDAYS": "2026-02-21"}
    out = CliRunner().invoke(main, ["calendar", "2026-02"], env=env).output
    assert out.startswith("2026-02  工作日历")
    assert "14班" in out and "16休" in out and "21班" in out and "10休" in out
    assert "2026-02-14 上班(调休上班)" in out
    assert "2026-02-10 休息(HOLIDAYS)" in out and "2026-02-21 上班(WORKDAYS)" in out
    later = CliRunner().invoke(main, ["calendar", "2027-02"], env={}).output
    assert "还没有 2027 年的官方放假安排" in later
    bad = CliRunner().invoke(main, ["calendar", "2027-13"], env={})
    assert bad.exit_code == 2 and "YYYY-MM" in bad.output
