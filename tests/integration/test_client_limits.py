"""Rate limits (strict sliding windows, atomic across buckets and processes) and Redis outages."""

from __future__ import annotations

import multiprocessing
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from redis import Redis

from orderdesk import runtime
from orderdesk.runtime import Runtime, build_runtime
from orderdesk.wecom import tokens
from orderdesk.wecom.client import WeComClient
from orderdesk.wecom.ratelimit import Limit, RateLimiter, RateLimits, limits_for
from tests.e2e.test_outbox import rows
from tests.fakes.live import LIVE_AES_KEY
from tests.fakes.wecom_server import FakeWeCom
from tests.fakes.wire import Wire, make_wire


@pytest.fixture(name="wire")
def _wire_fixture(redis_url: str) -> Iterator[Wire]:
    yield from make_wire(redis_url)


def _limiter(wire: Wire) -> RateLimiter:
    return RateLimiter(wire.redis, wire.settings.redis_namespace)


def test_buckets_per_channel() -> None:
    lim = RateLimits()
    app = limits_for(lim, channel="app_message", recipient="a|b|a", agent_id=7, api="message/send")
    assert [(x.key, x.count, x.window_seconds) for x in app] == [
        ("api:message/send", 10_000, 60.0),
        ("api:message/send:h", 150_000, 3600.0),
        ("member:7:a:m", 30, 60.0),
        ("member:7:a:h", 1000, 3600.0),
        ("member:7:b:m", 30, 60.0),
        ("member:7:b:h", 1000, 3600.0),
    ]
    hook = limits_for(lim, channel="webhook", recipient="key1", agent_id=7, api="webhook/send")
    assert [(x.count, x.window_seconds) for x in hook] == [(20, 60.0)]
    assert limits_for(lim, channel="bot_response", recipient="u", agent_id=7, api="r") == []


def test_member_limit_is_strict_and_reports_the_wait(wire: Wire) -> None:
    limiter = _limiter(wire)
    bucket = [Limit("member:1:zhangsan:m", 30, 60.0)]
    assert [limiter.acquire(bucket) for _ in range(30)] == [0.0] * 30
    wait = limiter.acquire(bucket)
    assert 58.0 < wait <= 60.0
    assert limiter.acquire(bucket) > 58.0  # a denied send does not take a slot


def test_hour_bucket_applies_even_when_the_minute_has_room(wire: Wire) -> None:
    limiter = _limiter(wire)
    limits = limits_for(
        RateLimits(member_per_minute=100, member_per_hour=5),
        channel="app_message",
        recipient="lisi",
        agent_id=1,
        api="message/send",
    )
    assert all(limiter.acquire(limits) == 0.0 for _ in range(5))
    assert limiter.acquire(limits) > 3500


def test_a_full_member_does_not_spend_the_others_budget(wire: Wire) -> None:
    limiter = _limiter(wire)
    small = RateLimits(member_per_minute=2)

    def to(recipient: str) -> list[Limit]:
        return limits_for(small, channel="app_message", recipient=recipient, agent_id=1, api="m")

    assert limiter.acquire(to("a")) == 0.0
    assert limiter.acquire(to("a")) == 0.0
    assert limiter.acquire(to("a|b")) > 0  # a is full: nobody in this message is charged
    assert limiter.acquire(to("b")) == 0.0
    assert limiter.acquire(to("b")) == 0.0
    assert limiter.acquire(to("b")) > 0


def _grab(redis_url: str, namespace: str, barrier: Any, out: Any) -> None:
    limiter = RateLimiter(Redis.from_url(redis_url), namespace)
    barrier.wait(timeout=30)
    admitted = sum(
        limiter.acquire([Limit("member:1:wangwu:m", 30, 60.0)]) == 0.0 for _ in range(20)
    )
    out.put(admitted)


def test_limit_holds_across_processes(wire: Wire) -> None:
    """80 concurrent attempts against a 30/min member bucket admit exactly 30: across 4
    processes through Redis, or across 4 threads of one process without Redis."""
    if wire.redis is not None:
        ctx = multiprocessing.get_context("fork")
        barrier, out = ctx.Barrier(4), ctx.Queue()
        procs = [
            ctx.Process(
                target=_grab,
                args=(wire.settings.redis_url, wire.settings.redis_namespace, barrier, out),
            )
            for _ in range(4)
        ]
        for p in procs:
            p.start()
        admitted = [out.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(30)
    else:
        limiter = _limiter(wire)
        tbarrier = threading.Barrier(4)
        admitted = []

        def grab() -> None:
            tbarrier.wait(timeout=10)
            bucket = [Limit("member:1:wangwu:m", 30, 60.0)]
            admitted.append(sum(limiter.acquire(bucket) == 0.0 for _ in range(20)))

        threads = [threading.Thread(target=grab) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sum(admitted) == 30


# ---------------------------------------------------------------------------- Redis outages


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateRedis:
    """A throwaway redis-server we may kill (never the machine's own Redis)."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        client = Redis.from_url(self.url)
        for _ in range(100):
            try:
                client.ping()
                break
            except Exception:
                time.sleep(0.05)
        client.close()
        return self

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis().start()
    yield server
    server.kill()


@pytest.fixture
def fake() -> Iterator[FakeWeCom]:
    server = FakeWeCom().start()
    yield server
    server.stop()


def test_client_keeps_working_when_redis_dies(private_redis: PrivateRedis, fake: FakeWeCom) -> None:
    tokens.clear_local_cache()
    redis = Redis.from_url(private_redis.url, socket_timeout=1, socket_connect_timeout=1)
    client = WeComClient(
        corp_id="wwx", secret="redis-outage", agent_id=1, api_base=fake.base, redis=redis
    )
    client.send_text("u1", "before")
    private_redis.kill()
    client.send_text("u1", "during")  # falls back to the in-process cache (one more fetch)
    assert len(fake.delivered) == 2 and fake.token_fetches == 2
    tokens.clear_local_cache()


def test_redis_down_at_commit_time_message_delivered_later(
    rt: Runtime, private_redis: PrivateRedis, fake: FakeWeCom
) -> None:
    """The after-commit enqueue fails while Redis is down; the row is durable, and once Redis is
    back the sweeper enqueues delivery and an RQ worker delivers it exactly once."""
    from rq import SimpleWorker

    from orderdesk.jobs.outbox import sweep

    tokens.clear_local_cache()
    settings = rt.settings.with_overrides(
        redis_url=private_redis.url,
        jobs_sync=False,
        wecom_mode="live",
        wecom_api_base=fake.base,
        wecom_secret="redis-down-secret",
        wecom_token="livetoken",
        wecom_aes_key=LIVE_AES_KEY,
        secret_key="z" * 32,
    )
    mine = runtime.install(build_runtime(settings))
    try:
        private_redis.kill()
        queue_with_hook(mine)  # commit succeeds; the enqueue is swallowed
        [row] = rows(mine)
        assert row.status == "pending"

        private_redis.start()
        assert sweep() == 1
        worker = SimpleWorker([mine.queue.rq_queue("high")], connection=mine.redis)
        worker.work(burst=True)
        [row] = rows(mine)
        assert row.status == "sent", row.last_error
        assert len(fake.delivered) == 1
    finally:
        runtime.install(rt)
        mine.close()
        tokens.clear_local_cache()


def queue_with_hook(rt: Runtime) -> None:
    """Like `queue` but keeps the runtime's after-commit enqueue (the path under test)."""
    from orderdesk.wecom import cards, outbox

    with rt.db.transaction() as s:
        outbox.add(
            s,
            key="late-1",
            channel="app_message",
            recipient="u1",
            payload=cards.app_text("稍后送达"),
        )
