"""`orderdesk worker`: an RQ worker on the queues high, default, low (in that priority)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from jobs.queue import QUEUES

if TYPE_CHECKING:
    from runtime import Runtime

log = logging.getLogger(__name__)


def run_worker(rt: Runtime, *, burst: bool = False) -> bool:
    """Work the namespaced queues until stopped (or until empty with `burst`)."""
    from rq import Worker

    if rt.redis is None:
        raise RuntimeError("REDIS_URL is not set: jobs run in-process inside `orderdesk serve`")
    # RQ forks a work horse per job: the parent must hold no pooled database connections,
    # or a child would share a socket with its parent.
    rt.db.dispose()
    queues = [rt.queue.rq_queue(name) for name in QUEUES]
    worker = Worker(queues, connection=rt.redis, name=None)
    log.info("worker on %s", ", ".join(q.name for q in queues))
    return bool(worker.work(burst=burst, with_scheduler=False))
