"""Scheduler: one active instance, takeover, catch-up once, time zones (incl. DST)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger
from redis import Redis

from orderdesk.core import clock
from orderdesk.core.workdays import in_business_hours
from orderdesk.jobqueue import JobQueue
from orderdesk.jobs.scheduler import JobSpec, SchedulerNode, job_specs, next_fire, previous_fire
from orderdesk.money.schedule import next_send_time
from orderdesk.runtime import Runtime
from tests.money_world import private_redis

RUNS: list[str] = []


def count_run() -> str:
    RUNS.append("run")
    return "ok"


@pytest.fixture
def lock_redis(rt: Runtime) -> Iterator[Redis]:
    """The run's Redis on the postgres backend; a private throwaway server on SQLite."""
    if rt.redis is not None:
        yield rt.redis
        return
    with private_redis() as (client, _url):
        yield client


@pytest.fixture
def inline_rt(rt: Runtime) -> Runtime:
    """The same runtime with an in-process synchronous queue, so enqueued jobs run (and count)."""
    RUNS.clear()
    return dataclasses.replace(rt, queue=JobQueue(rt.settings, None))


def spec(tz: str = "Asia/Shanghai") -> JobSpec:
    trigger = CronTrigger(day_of_week="mon-fri", hour=9, minute=10, timezone=ZoneInfo(tz))
    return JobSpec(
        "test.count", "tests.integration.test_scheduler:count_run", "low", trigger, "测试"
    )


def node(rt: Runtime, redis: Redis, ident: str, **kw: float) -> SchedulerNode:
    return SchedulerNode(rt, redis=redis, specs=[spec()], ident=ident, **kw)


def test_two_schedulers_only_one_fires(inline_rt: Runtime, lock_redis: Redis) -> None:
    a, b = node(inline_rt, lock_redis, "A"), node(inline_rt, lock_redis, "B")
    at = datetime(2026, 6, 1, 1, 10, tzinfo=UTC)  # Monday 09:10 in Shanghai
    with clock.frozen(at - timedelta(minutes=5)):
        assert a.heartbeat_once() is True
        assert b.heartbeat_once() is False
    assert [a.fire("test.count", at), b.fire("test.count", at)] == [True, False]
    # Even a node that wrongly believes it leads cannot fire the same run twice.
    b.leader = True
    assert b.fire("test.count", at) is False
    assert a.fire("test.count", at) is False
    assert RUNS == ["run"]


def test_takeover_after_the_leader_dies(inline_rt: Runtime, lock_redis: Redis) -> None:
    """Driven heartbeat by heartbeat (no wall-clock bound): B leads on its first heartbeat once
    A's lock has expired, and never before; so takeover takes at most TTL + one heartbeat."""
    a = node(inline_rt, lock_redis, "A", ttl=1.5, heartbeat=0.2)
    b = node(inline_rt, lock_redis, "B", ttl=1.5, heartbeat=0.2)
    key = a.lock.key
    with clock.frozen(datetime(2026, 6, 1, 1, 0, tzinfo=UTC)):  # before the 09:10 run
        assert a.heartbeat_once() is True
        assert b.heartbeat_once() is False
        lock_redis.pexpire(key, 100)  # A's lock is about to run out...
        assert a.heartbeat_once() is True  # ...and A's heartbeat renews it to a full TTL
        assert 1000 < lock_redis.pttl(key) <= 1500
        assert b.heartbeat_once() is False and b.lock.holder() == "A"
        # A crashes: nobody renews, so the lock expires within its TTL. Redis's own clock cannot
        # be frozen: the expiry is made to happen now.
        lock_redis.delete(key)
        assert b.heartbeat_once() is True and b.lock.holder() == "B"
        assert a.heartbeat_once() is False  # a leader that comes back does not take it back
    assert RUNS == []


def test_missed_run_is_caught_up_once(inline_rt: Runtime, lock_redis: Redis) -> None:
    monday = datetime(2026, 6, 1, 1, 10, tzinfo=UTC)
    a = node(inline_rt, lock_redis, "A")
    with clock.frozen(monday - timedelta(minutes=5)):
        a.heartbeat_once()
    assert a.fire("test.count", monday)
    RUNS.clear()
    # Nobody ran Tuesday and Wednesday 09:10; on Wednesday 10:00 a scheduler comes up.
    wednesday = datetime(2026, 6, 3, 2, 0, tzinfo=UTC)
    a.leader = False
    with clock.frozen(wednesday):
        assert a.heartbeat_once()  # re-gaining leadership triggers the catch-up
        assert RUNS == ["run"]
        assert a.catch_up() == []
        b = node(inline_rt, lock_redis, "B")
        b.leader = True
        assert b.catch_up() == []
    assert RUNS == ["run"]
    assert a.ledger.last("test.count") == datetime(2026, 6, 3, 1, 10, tzinfo=UTC)


def test_first_start_records_a_baseline_without_firing(
    inline_rt: Runtime, lock_redis: Redis
) -> None:
    with clock.frozen(datetime(2026, 6, 3, 2, 0, tzinfo=UTC)):
        a = node(inline_rt, lock_redis, "A")
        a.heartbeat_once()
    assert RUNS == []


def test_on_time_fires_the_due_run(inline_rt: Runtime, lock_redis: Redis) -> None:
    a = node(inline_rt, lock_redis, "A")
    with clock.frozen(datetime(2026, 6, 1, 1, 9, tzinfo=UTC)) as advance:
        a.heartbeat_once()
        advance(timedelta(minutes=1, milliseconds=5))
        assert a.on_time("test.count") is True
        assert a.on_time("test.count") is False
    assert RUNS == ["run"]


def test_previous_and_next_fire_across_dst() -> None:
    ny = ZoneInfo("America/New_York")
    trig = CronTrigger(day_of_week="mon-fri", hour=9, minute=10, timezone=ny)
    # DST starts Sunday 2026-03-08: 09:10 is 14:10 UTC on Friday, 13:10 UTC on Monday.
    fri = next_fire(trig, datetime(2026, 3, 6, 12, 0, tzinfo=UTC))
    mon = next_fire(trig, datetime(2026, 3, 6, 15, 0, tzinfo=UTC))
    assert fri == datetime(2026, 3, 6, 14, 10, tzinfo=UTC)
    assert mon == datetime(2026, 3, 9, 13, 10, tzinfo=UTC)
    assert previous_fire(trig, datetime(2026, 3, 8, 23, 0, tzinfo=UTC)) == fri
    sh = CronTrigger(day_of_week="mon-fri", hour=9, minute=10, timezone=ZoneInfo("Asia/Shanghai"))
    assert next_fire(sh, datetime(2026, 3, 6, 12, 0, tzinfo=UTC)) == datetime(
        2026, 3, 9, 1, 10, tzinfo=UTC
    )


def test_business_hours_window_and_round_minutes(rt: Runtime) -> None:
    s = rt.settings.with_overrides(holidays="2026-10-01,2026-10-02")
    # Shanghai: 22:00 Wednesday -> Thursday 09:03 (09:00 is a round minute).
    wed_night = datetime(2026, 9, 30, 14, 0, tzinfo=UTC)
    assert not in_business_hours(wed_night, s)
    assert next_send_time(wed_night, s) == datetime(
        2026, 10, 8, 1, 3, tzinfo=UTC
    )  # after China's official National Day holiday (10-01..10-07)
    assert next_send_time(datetime(2026, 6, 1, 3, 30, tzinfo=UTC), s) == datetime(
        2026, 6, 1, 3, 33, tzinfo=UTC
    )
    inside = datetime(2026, 6, 1, 3, 17, tzinfo=UTC)
    assert next_send_time(inside, s) == inside
    ny = s.with_overrides(timezone="America/New_York")
    # Saturday 2026-11-07 in New York; DST ends Sunday -> Monday 09:03 EST = 14:03 UTC.
    assert next_send_time(datetime(2026, 11, 7, 15, 0, tzinfo=UTC), ny) == datetime(
        2026, 11, 9, 14, 3, tzinfo=UTC
    )


def test_default_jobs_listed_and_resolvable(rt: Runtime) -> None:
    specs = job_specs(rt.settings)
    names = {s.name for s in specs}
    assert {"money.reminders", "money.morning_digest", "approvals.remind_and_escalate"} <= names
    assert "outbox.sweep" in names
    assert all(s.resolve() is not None for s in specs)
    now = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
    for s in specs:
        nxt = next_fire(s.trigger, now)
        assert nxt is not None and nxt > now
        if s.name == "outbox.sweep":
            continue  # a minutely recovery scan, not a batch of pushes
        assert nxt.astimezone(rt.settings.tz).minute not in (0, 30)
