"""The per-process runtime: settings, database, Redis and the job queue, built once.

The Flask app, the RQ worker and the scheduler all use the same `Runtime`, so a job that runs in
a worker sees exactly what a request sees. Nothing is built at import time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from redis import Redis
from sqlalchemy import event
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.db import Database
from orderdesk.jobqueue import JobQueue
from orderdesk.models.ar_balance import REBUILD_WANTED
from orderdesk.settings import Settings, load_settings

if TYPE_CHECKING:
    from redis import Redis

log = logging.getLogger(__name__)

# Named, not imported: the job module sits above the runtime (see jobqueue.py).
DELIVER_OUTBOX = "orderdesk.jobs.outbox.deliver_due"
REBUILD_AR_BALANCES = "orderdesk.jobs.reports.rebuild_ar_balances"


@dataclass
class Runtime:
    settings: Settings
    db: Database
    redis: Redis | None
    queue: JobQueue
    extensions: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        self.queue.shutdown()
        self.db.dispose()
        if self.redis is not None:
            self.redis.close()


def connect_redis(url: str) -> Redis:
    return Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30)


def build_runtime(settings: Settings | None = None) -> Runtime:
    settings = settings or load_settings()
    _clock_offset(settings)
    db = Database(settings.database_url, settings=settings)
    redis = connect_redis(settings.redis_url) if settings.redis_url else None
    queue = JobQueue(settings, redis)
    rt = Runtime(settings=settings, db=db, redis=redis, queue=queue)

    @event.listens_for(db.Session, "after_commit")
    def _outbox_after_commit(session: Session) -> None:
        # Enqueue delivery only once the rows exist; a lost enqueue is caught by the sweeper.
        if session.info.pop("outbox_dirty", False):
            queue.enqueue(DELIVER_OUTBOX, queue="high", quiet=True)
        # A commit marked the AR balances stale: rebuild them (until then aging reads live).
        # Not on a savepoint's release (it fires this hook too): the transaction is still open.
        if not session.in_nested_transaction() and session.info.pop(REBUILD_WANTED, False):
            queue.enqueue(REBUILD_AR_BALANCES, queue="low", quiet=True)

    return rt


def _clock_offset(settings: Settings) -> None:
    path = settings.extra.get(clock.OFFSET_SETTING, "").strip()
    if path:
        log.warning(
            "%s=%s: this process's clock is shifted (drills only)", clock.OFFSET_SETTING, path
        )
        clock.run_ahead_from(path)


_current: Runtime | None = None


def install(rt: Runtime) -> Runtime:
    global _current
    _current = rt
    return rt


def current() -> Runtime:
    """The runtime of this process (built from the environment on first use in a worker)."""
    global _current
    if _current is None:
        _current = build_runtime()
    return _current
