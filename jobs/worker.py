"""`orderdesk worker`: an RQ worker on the queues high, default, low (in that priority)."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from rq import Worker

import metrics
from jobs.queue import QUEUES
from logs import NO_REQUEST, request_scope
from runtime import current

if TYPE_CHECKING:
    from runtime import Runtime

log = logging.getLogger(__name__)


class _MeasuredWorker(Worker):
    """Each job runs under its request id and is counted (runs, outcome, seconds)."""

    def perform_job(self, job: Any, queue: Any) -> bool:
        rid = (job.meta or {}).get("request_id")
        with request_scope(rid if rid and rid != NO_REQUEST else job.id):
            started = time.perf_counter()
            ok = bool(super().perform_job(job, queue))
            metrics.count_job(current(), job.func_name, ok, time.perf_counter() - started)
            return ok


def run_worker(rt: Runtime, *, burst: bool = False) -> bool:
    """Work the namespaced queues until stopped (or until empty with `burst`)."""
    if rt.redis is None:
        raise RuntimeError("REDIS_URL is not set: jobs run in-process inside `orderdesk serve`")
    # RQ forks a work horse per job: the parent must hold no pooled database connections,
    # or a child would share a socket with its parent.
    rt.db.dispose()
    queues = [rt.queue.rq_queue(name) for name in QUEUES]
    worker = _MeasuredWorker(queues, connection=rt.redis, name=None)
    log.info("worker on %s", ", ".join(q.name for q in queues))
    return bool(worker.work(burst=burst, with_scheduler=False))
