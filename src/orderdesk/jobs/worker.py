"""`orderdesk worker`: an RQ worker on the queues high, default, low (in that priority).

RQ itself retries a lost connection while it waits for jobs, but quits its loop on other Redis
errors (a timeout, a failed heartbeat). Here such a quit is not the end: the worker waits for
Redis with backoff (logged by `Outage`) and starts a fresh RQ worker; only after
REDIS_GIVE_UP_SECONDS of continuous outage does it give up (`RedisGaveUp`, exit status 1).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from rq import Worker

from orderdesk import metrics
from orderdesk.core.logs import NO_REQUEST, request_scope
from orderdesk.jobqueue import QUEUES
from orderdesk.jobs.outage import Outage
from orderdesk.runtime import current

if TYPE_CHECKING:
    from orderdesk.runtime import Runtime

log = logging.getLogger(__name__)

RQ_MAX_CONNECTION_WAIT = 10.0


class _MeasuredWorker(Worker):
    """Each job runs under its request id and is counted (runs, outcome, seconds)."""

    def perform_job(self, job: Any, queue: Any) -> bool:
        rid = (job.meta or {}).get("request_id")
        with request_scope(rid if rid and rid != NO_REQUEST else job.id):
            started = time.perf_counter()
            ok = bool(super().perform_job(job, queue))
            rt, elapsed = current(), time.perf_counter() - started
            metrics.count_job(rt.redis, rt.settings.redis_namespace, job.func_name, ok, elapsed)
            return ok


def run_worker(rt: Runtime, *, burst: bool = False) -> bool:
    """Work the namespaced queues until stopped (or until empty with `burst`)."""
    if rt.redis is None:
        raise RuntimeError("REDIS_URL is not set: jobs run in-process inside `orderdesk serve`")
    outage = Outage("worker", rt.settings.redis_give_up_seconds)
    worked = False
    while True:
        try:
            worker = _new_worker(rt)
            worked = bool(worker.work(burst=burst, with_scheduler=False)) or worked
            if burst or _stopped_on_request(worker):
                return worked
            error: BaseException = RuntimeError("the RQ worker loop quit")
        except Exception as exc:  # Redis failed while RQ was starting (or tearing down)
            if burst:
                raise
            error = exc
        _wait_for_redis(rt, outage, error)


def _stopped_on_request(worker: Any) -> bool:
    """SIGTERM / SIGINT (RQ's warm shutdown), as opposed to RQ quitting on an error."""
    return bool(worker._stop_requested or worker._shutdown_requested_date is not None)


def _new_worker(rt: Runtime) -> Any:
    # RQ forks a work horse per job: the parent must hold no pooled database connections,
    # or a child would share a socket with its parent.
    rt.db.dispose()
    queues = [rt.queue.rq_queue(name) for name in QUEUES]
    log.info("worker on %s", ", ".join(q.name for q in queues))
    worker = _MeasuredWorker(queues, connection=rt.redis, name=None)
    # RQ's own retry while it waits for jobs backs off up to a minute: after an outage the
    # worker would idle that long with Redis already back. Ten seconds is plenty of backoff.
    worker.max_connection_wait_time = RQ_MAX_CONNECTION_WAIT
    return worker


def _wait_for_redis(rt: Runtime, outage: Outage, error: BaseException) -> None:
    """Back off until Redis answers again; raises RedisGaveUp past the give-up time."""
    assert rt.redis is not None
    while True:
        time.sleep(outage.failed(error))
        try:
            rt.redis.ping()
        except Exception as exc:
            error = exc
            continue
        outage.ok()
        return
