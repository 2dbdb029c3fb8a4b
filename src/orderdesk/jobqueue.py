"""Enqueue jobs on RQ when Redis is configured, else run them in-process.

It sits beside `runtime.py` (the Runtime owns one), below the domains and the job modules: a job
is named by its dotted path (`"orderdesk.jobs.outbox.deliver_due"`, as RQ itself accepts) where a
lower layer enqueues one, so this module never imports the jobs it runs.

In-process mode (no Redis) runs jobs on a small thread pool so a web request is never held up;
`JOBS_SYNC=true` runs them synchronously (tests, `orderdesk scheduler --once`).
"""

from __future__ import annotations

import contextvars
import importlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from rq import Queue

from orderdesk import metrics
from orderdesk.core.logs import current_request_id
from orderdesk.settings import Settings

if TYPE_CHECKING:
    from redis import Redis

log = logging.getLogger(__name__)

QUEUES = ("high", "default", "low")


class JobQueue:
    def __init__(self, settings: Settings, redis: Redis | None) -> None:
        self.settings = settings
        self.redis = redis
        self._pool: ThreadPoolExecutor | None = None

    @property
    def inline(self) -> bool:
        return self.redis is None

    def queue_name(self, name: str) -> str:
        if name not in QUEUES:
            raise ValueError(f"unknown queue {name!r}")
        return f"{self.settings.redis_namespace}:{name}"

    def rq_queue(self, name: str) -> Any:
        return Queue(self.queue_name(name), connection=self.redis)

    def enqueue(
        self,
        func: Callable[..., Any] | str,
        *args: Any,
        queue: str = "default",
        job_id: str | None = None,
        quiet: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Run `func(*args, **kwargs)` on a worker. `quiet` swallows a broker failure (the caller
        has a durable record, e.g. an outbox row, that a sweeper will pick up later)."""
        if self.inline:
            func = resolve(func)
            if self.settings.jobs_sync:
                return func(*args, **kwargs)
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="job")
            ctx = contextvars.copy_context()  # the job's lines keep the request id
            fut: Future[Any] = self._pool.submit(ctx.run, self._run_logged, func, *args, **kwargs)
            return fut
        try:
            q = self.rq_queue(queue)
            # The worker logs the job's lines under the id of the request that asked for it.
            meta = {"request_id": current_request_id()}
            return q.enqueue(func, *args, job_id=job_id, kwargs=kwargs or None, meta=meta)
        except Exception:
            if not quiet:
                raise
            log.warning("enqueue of %s failed; a sweeper will retry", job_name(func), exc_info=True)
            return None

    def _run_logged(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        name = job_name(func)
        started, ok = time.perf_counter(), False
        try:
            result = func(*args, **kwargs)
            ok = True
            return result
        except Exception:
            log.exception("in-process job %s failed", name)
            raise
        finally:
            elapsed = time.perf_counter() - started
            metrics.count_job(self.redis, self.settings.redis_namespace, name, ok, elapsed)

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


def resolve(func: Callable[..., Any] | str) -> Callable[..., Any]:
    """The function a job names (RQ resolves dotted paths the same way in its workers)."""
    if callable(func):
        return func
    module, _, attr = func.rpartition(".")
    found: Callable[..., Any] = getattr(importlib.import_module(module), attr)
    return found


def job_name(func: Callable[..., Any] | str) -> str:
    return func if isinstance(func, str) else f"{func.__module__}.{func.__name__}"
