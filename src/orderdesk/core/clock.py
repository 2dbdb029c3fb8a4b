"""The one place that reads the wall clock, so tests can move time (see `frozen`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from orderdesk.settings import Settings

SETTINGS_KEY = "orderdesk.settings"  # the key of a session's `info` that holds the settings


def _wall() -> datetime:
    return datetime.now(UTC)


_now: Callable[[], datetime] = _wall


def is_wall_clock() -> bool:
    """Whether `now()` reads the real clock (the test suite checks that no test leaves the
    clock frozen: a freeze entered from two threads at once can restore the wrong one)."""
    return _now is _wall


def now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return _now()


def today(tz: ZoneInfo) -> date:
    """Today's date in the company's time zone (what people mean by 'today')."""
    return now().astimezone(tz).date()


def local(dt: datetime, tz: ZoneInfo) -> datetime:
    return dt.astimezone(tz)


@contextmanager
def frozen(at: datetime) -> Iterator[Callable[[timedelta], None]]:
    """Freeze `now()` at `at`; yields a function that moves the frozen clock forward.
    The clock is one per process: freeze it in one thread (threads started inside see it),
    never in several threads at once, or the last to leave may restore another's freeze."""
    global _now
    if at.tzinfo is None:
        raise ValueError("frozen() needs an aware datetime")
    current = [at.astimezone(UTC)]
    previous = _now

    def advance(delta: timedelta) -> None:
        current[0] = current[0] + delta

    _now = lambda: current[0]  # noqa: E731
    try:
        yield advance
    finally:
        _now = previous


OFFSET_SETTING = "ORDERDESK_CLOCK_OFFSET_FILE"


def run_ahead_from(path: str) -> None:
    """Make this process's clock run ahead of the wall clock by the seconds written in `path`.

    For drills only (ORDERDESK_CLOCK_OFFSET_FILE, read by `runtime.build_runtime`): the web,
    worker and scheduler processes share the file, so they agree that it is, say, 09:16 on a
    working day, and the drill can make two minutes pass for all of them at once (a lease
    expires) without waiting. The file is re-read at most every 0.2 s."""
    global _now
    offset = _FileOffset(path)
    _now = lambda: datetime.now(UTC) + offset.ahead()  # noqa: E731


class _FileOffset:
    def __init__(self, path: str) -> None:
        self.path, self.read_at, self.value = path, float("-inf"), timedelta(0)

    def ahead(self) -> timedelta:
        tick = time.monotonic()
        if tick - self.read_at > 0.2:
            try:
                with open(self.path, encoding="utf-8") as f:
                    self.value = timedelta(seconds=float(f.read().strip() or 0))
            except (OSError, ValueError):
                pass  # keep the last offset: a drill is rewriting the file
            self.read_at = tick
        return self.value


def settings_of(session: Session) -> Settings:
    """The company's settings, handed to services with the session the entry point opened
    (`Database(url, settings=...)` puts them in every session's `info`); no process global."""
    settings: Settings | None = session.info.get(SETTINGS_KEY)
    if settings is None:
        raise RuntimeError("this session carries no settings: open it from Database(settings=...)")
    return settings


def company_tz(session: Session) -> ZoneInfo:
    """The company's time zone (TIMEZONE): what 'today' and schedules mean to people."""
    return settings_of(session).tz
