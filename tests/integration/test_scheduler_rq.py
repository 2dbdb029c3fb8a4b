"""The standalone scheduler's real path: every job enqueued through RQ on a real Redis and run by
a real RQ worker; a failed enqueue gives its claim back and is caught up once; Redis outages."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import SimpleWorker
from rq.job import Job, JobStatus

from orderdesk.cli import main
from orderdesk.jobqueue import QUEUES, JobQueue
from orderdesk.jobs.outage import Outage, RedisGaveUp
from orderdesk.jobs.scheduler import SchedulerNode, rq_job_id
from orderdesk.runtime import Runtime, build_runtime, connect_redis, install
from tests.integration.test_scheduler import RUNS, spec
from tests.integration.test_scheduler_cli import env_of
from tests.money_world import private_redis


@pytest.fixture
def rq_rt(rt: Runtime) -> Iterator[Runtime]:
    """`rt` with an RQ queue on a real Redis (the run's on PostgreSQL, a private one on SQLite)."""
    if rt.redis is not None:
        yield rt
        return
    with private_redis() as (_client, url):
        other = build_runtime(rt.settings.with_overrides(redis_url=url, jobs_sync=False))
        install(other)
        try:
            yield other
        finally:
            other.close()
            install(rt)


def listed_jobs(rt: Runtime) -> list[str]:
    result = CliRunner().invoke(main, ["scheduler", "--list"], env=env_of(rt))
    # The command installed (and closed) a runtime of its own: jobs run below must use ours.
    install(rt)
    assert result.exit_code == 0, result.output
    return [line.split()[0] for line in result.output.strip().splitlines()]


def work_burst(rt: Runtime) -> SimpleWorker:
    assert rt.redis is not None
    worker = SimpleWorker([rt.queue.rq_queue(q) for q in QUEUES], connection=rt.redis)
    worker.work(burst=True)
    return worker


def test_every_listed_job_is_enqueued_through_rq_and_run_by_a_worker(rq_rt: Runtime) -> None:
    names = listed_jobs(rq_rt)
    node = SchedulerNode(rq_rt, ident="rq-test")
    assert set(names) == set(node.specs)
    node.leader = node.lock.acquire_or_renew()
    at = datetime(2026, 6, 1, 1, 17, tzinfo=UTC)
    for name in names:
        assert node.fire(name, at), name  # raised "Job ID must only contain letters..." before
    ids = [rq_job_id(name, at) for name in names]
    work_burst(rq_rt)
    statuses = {
        name: Job.fetch(job_id, connection=rq_rt.redis).get_status()
        for name, job_id in zip(names, ids, strict=True)
    }
    assert statuses == {name: JobStatus.FINISHED for name in names}


def test_job_ids_are_what_rq_accepts() -> None:
    at = datetime(2026, 6, 1, 1, 17, tzinfo=UTC)
    assert rq_job_id("money.reminders", at) == f"sched-money_reminders-{int(at.timestamp())}"
    assert rq_job_id("a.b c/d", at).startswith("sched-a_b_c_d-")


def _dead_redis_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"  # nothing listens here


def test_failed_enqueue_gives_the_claim_back_and_the_run_is_caught_up_once(
    rq_rt: Runtime,
) -> None:
    assert rq_rt.redis is not None
    RUNS.clear()
    node = SchedulerNode(rq_rt, specs=[spec()], ident="A")
    monday = datetime(2026, 6, 1, 1, 10, tzinfo=UTC)  # Monday 09:10 in Shanghai
    node.ledger.claim("test.count", monday - timedelta(days=3))  # last run: Friday
    node.leader = node.lock.acquire_or_renew()
    good_queue = rq_rt.queue
    node.rt = dataclasses.replace(
        rq_rt, queue=JobQueue(rq_rt.settings, connect_redis(_dead_redis_url()))
    )  # the broker is unreachable, the ledger is not
    with pytest.raises(RedisConnectionError):
        node.fire("test.count", monday)
    assert node.ledger.last("test.count") == monday - timedelta(days=3)  # given back

    node.rt = rq_rt  # the broker is back: the next heartbeat catches the run up, once
    from orderdesk.core import clock

    with clock.frozen(monday + timedelta(minutes=3)):
        assert node.heartbeat_once()
        assert node.heartbeat_once()
    assert good_queue.rq_queue("low").count == 1
    work_burst(rq_rt)
    assert RUNS == ["run"]
    assert node.ledger.last("test.count") == monday


def test_outage_backs_off_and_gives_up(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr("orderdesk.jobs.outage.time.monotonic", lambda: now[0])
    outage = Outage("worker", give_up_after=60, first=1, cap=8)
    waits = []
    for _ in range(5):
        waits.append(outage.failed(ConnectionError("down")))
        now[0] += waits[-1]
    assert waits == [1, 2, 4, 8, 8]
    outage.ok()
    assert not outage.down and outage.failed(ConnectionError("again")) == 1
    now[0] += 61
    with pytest.raises(RedisGaveUp):
        outage.failed(ConnectionError("still"))


def test_worker_and_scheduler_exit_non_zero_when_redis_stays_away(rt: Runtime) -> None:
    env = env_of(rt, REDIS_URL=_dead_redis_url(), JOBS_SYNC="false", REDIS_GIVE_UP_SECONDS="2")
    for command in (["worker"], ["scheduler"]):
        result = CliRunner().invoke(main, command, env=env)
        assert result.exit_code == 1, (command, result.output)
        assert "Redis" in result.output
