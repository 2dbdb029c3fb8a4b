"""The company time zone reaches services through the session they are given, not a global."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from orderdesk.core import clock
from orderdesk.db import Database
from orderdesk.settings import load_settings


def test_each_database_hands_its_own_time_zone_to_its_sessions() -> None:
    base = load_settings({}, dotenv=False)
    tokyo = Database("sqlite://", settings=base.with_overrides(timezone="Asia/Tokyo"))
    new_york = Database("sqlite://", settings=base.with_overrides(timezone="America/New_York"))
    # 20:00 UTC on 1 June: already 2 June in Tokyo, still 1 June in New York.
    at = datetime(2026, 6, 1, 20, 0, tzinfo=UTC)
    with clock.frozen(at), tokyo.Session() as a, new_york.Session() as b:
        assert clock.today(clock.company_tz(a)) == date(2026, 6, 2)
        assert clock.today(clock.company_tz(b)) == date(2026, 6, 1)
        assert clock.settings_of(a).tz.key == "Asia/Tokyo"
    tokyo.dispose()
    new_york.dispose()


def test_a_session_without_settings_says_so() -> None:
    bare = Database("sqlite://")
    with bare.Session() as s, pytest.raises(RuntimeError, match="carries no settings"):
        clock.company_tz(s)
    bare.dispose()
