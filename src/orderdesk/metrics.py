"""Prometheus metrics: what `GET /metrics` serves, and the small hooks that record them.

Two kinds, by where the event happens:
- In the web process (callback latency, late replies): prometheus-client metrics. Under gunicorn
  `orderdesk serve` points PROMETHEUS_MULTIPROC_DIR at a fresh directory, so every worker's
  samples are summed at scrape time (multiprocess mode).
- In other processes (WeCom API calls and job runs happen in RQ work horses, forked per job, and
  in the scheduler): counters kept in Redis under the namespace (one HINCRBYFLOAT per event), so
  any web worker reports the same totals. Without Redis everything runs in one process and the
  counters stay in memory.
- State read at scrape time from the database and Redis: outbox messages by status, the age of
  the oldest pending one, dead messages, whether a scheduler holds the leader lock.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from orderdesk.models import OutboxMessage

if TYPE_CHECKING:
    from redis import Redis

    from orderdesk.runtime import Runtime

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

CALLBACK_SECONDS = Histogram(
    "orderdesk_callback_seconds",
    "WeCom callback handling time (verify to sealed reply), by channel and command",
    ["channel", "command"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
LATE_REPLIES = Counter(
    "orderdesk_callback_late_replies",
    "Callbacks whose handler missed the budget; the reply went out through the outbox",
    ["channel"],
)

# Counters kept across processes: name -> (help, label names).
SHARED_COUNTERS = {
    "wecom_api_calls": ("WeCom API calls by endpoint and errcode", ("endpoint", "errcode")),
    "job_runs": ("Job runs by job and outcome (ok, failed)", ("job", "outcome")),
    "job_seconds_sum": ("Seconds spent running jobs, by job", ("job",)),
}


class SharedCounters:
    """Counters in Redis (a hash per counter, a JSON label list per field), or in memory."""

    def __init__(self) -> None:
        self._memory: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self._lock = threading.Lock()

    def add(self, redis: Redis | None, namespace: str, name: str, labels: tuple[str, ...],
            value: float = 1.0) -> None:  # fmt: skip
        field = json.dumps(labels, ensure_ascii=False)
        if redis is None:
            with self._lock:
                self._memory[name][field] += value
            return
        try:
            redis.hincrbyfloat(f"{namespace}:metrics:{name}", field, value)
        except Exception:  # a metric must never fail the work it measures
            log.debug("metrics: could not count %s", name, exc_info=True)

    def read(self, redis: Redis | None, namespace: str, name: str) -> dict[tuple[str, ...], float]:
        if redis is None:
            with self._lock:
                raw: dict[Any, Any] = dict(self._memory[name])
        else:
            raw = redis.hgetall(f"{namespace}:metrics:{name}")
        return {tuple(json.loads(_text(k))): float(_text(v)) for k, v in raw.items()}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


shared = SharedCounters()


# ------------------------------------------------------------------------------------ hooks


# The command a callback ran, for the latency label: the view creates the note, the router (in
# the handler thread, which runs in a copy of the view's context) fills it in.
_command_note: ContextVar[dict[str, str] | None] = ContextVar("orderdesk_command", default=None)


def command_note(default: str) -> dict[str, str]:
    note = {"command": default}
    _command_note.set(note)
    return note


def name_command(name: str) -> None:
    note = _command_note.get()
    if note is not None:
        note["command"] = name


def observe_callback(channel: str, command: str, seconds: float) -> None:
    CALLBACK_SECONDS.labels(channel, command).observe(seconds)


def count_late_reply(channel: str) -> None:
    LATE_REPLIES.labels(channel).inc()


def count_api_call(redis: Redis | None, namespace: str, endpoint: str, errcode: str) -> None:
    shared.add(redis, namespace, "wecom_api_calls", (endpoint, errcode))


def count_job(redis: Redis | None, ns: str, job: str, ok: bool, seconds: float) -> None:
    shared.add(redis, ns, "job_runs", (job, "ok" if ok else "failed"))
    shared.add(redis, ns, "job_seconds_sum", (job,), seconds)


# --------------------------------------------------------------------------- scrape time


class StateCollector(Collector):
    """Outbox state and scheduler leadership, read at scrape time, plus the shared counters."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def collect(self) -> Iterator[Any]:
        yield from self._outbox()
        yield self._leader()
        yield from self._shared()

    def _outbox(self) -> Iterable[Any]:
        by_status = GaugeMetricFamily(
            "orderdesk_outbox_messages", "Outbox messages by status", labels=["status"]
        )
        with self.rt.db.Session() as s:
            rows = s.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            ).all()
            counts = {str(status): int(n) for status, n in rows}
            oldest = s.scalar(
                select(func.min(OutboxMessage.created_at)).where(OutboxMessage.status == "pending")
            )
        for status in ("pending", "sending", "sent", "dead"):
            by_status.add_metric([status], counts.get(status, 0))
        yield by_status
        yield GaugeMetricFamily(
            "orderdesk_outbox_dead_messages", "Messages that gave up", value=counts.get("dead", 0)
        )
        age = 0.0
        if oldest is not None:
            oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)
            age = max((datetime.now(UTC) - oldest).total_seconds(), 0.0)
        yield GaugeMetricFamily(
            "orderdesk_outbox_oldest_pending_seconds",
            "Age of the oldest pending outbox message (0 when none)",
            value=age,
        )

    def _leader(self) -> GaugeMetricFamily:
        # Without Redis the only scheduler runs inside `serve`, i.e. in this very process.
        held = 1
        if self.rt.redis is not None:
            held = int(
                bool(self.rt.redis.exists(f"{self.rt.settings.redis_namespace}:scheduler:leader"))
            )
        return GaugeMetricFamily(
            "orderdesk_scheduler_leader", "1 while a scheduler holds the leader lock", value=held
        )

    def _shared(self) -> Iterable[Any]:
        ns, redis = self.rt.settings.redis_namespace, self.rt.redis
        calls = CounterMetricFamily(
            "orderdesk_wecom_api_calls", SHARED_COUNTERS["wecom_api_calls"][0],
            labels=["endpoint", "errcode"],
        )  # fmt: skip
        for labels, value in shared.read(redis, ns, "wecom_api_calls").items():
            calls.add_metric(list(labels), value)
        yield calls
        runs = CounterMetricFamily(
            "orderdesk_job_runs", SHARED_COUNTERS["job_runs"][0], labels=["job", "outcome"]
        )
        per_job: dict[str, float] = defaultdict(float)
        for labels, value in shared.read(redis, ns, "job_runs").items():
            runs.add_metric(list(labels), value)
            per_job[labels[0]] += value
        yield runs
        durations = SummaryMetricFamily(
            "orderdesk_job_duration_seconds", "Job run time by job", labels=["job"]
        )
        for (job,), seconds in shared.read(redis, ns, "job_seconds_sum").items():
            durations.add_metric([job], count_value=int(per_job.get(job, 0)), sum_value=seconds)
        yield durations


def render(rt: Runtime) -> tuple[bytes, str]:
    """The exposition text: this process's (or, under gunicorn, every worker's) metrics plus
    the state read now."""
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.MultiProcessCollector(registry)
    else:
        for collector in (CALLBACK_SECONDS, LATE_REPLIES):
            registry.register(collector)
    registry.register(StateCollector(rt))
    return generate_latest(registry), CONTENT_TYPE_LATEST


def allowed(remote_addr: str | None, allow: str) -> bool:
    """Loopback always; other clients only from the networks in METRICS_ALLOW."""
    try:
        addr = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return False
    if addr.is_loopback:
        return True
    networks = [
        ipaddress.ip_network(n.strip(), strict=False) for n in allow.split(",") if n.strip()
    ]
    return any(addr in net for net in networks)


def mark_worker_dead(pid: int) -> None:
    """gunicorn's child_exit hook: drop a dead worker's live gauges (multiprocess mode)."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(pid)
