"""Outbox delivery jobs: `deliver_due` (enqueued after every commit that added outbox rows) and
`sweep` (scheduled every few seconds: crash recovery and rows whose retry/wait time has come)."""

from __future__ import annotations

import logging

from orderdesk import runtime
from orderdesk.wecom.dedupe import prune
from orderdesk.wecom.delivery import deliver_due as _deliver
from orderdesk.wecom.delivery import due_count, recover_stuck

log = logging.getLogger(__name__)


def deliver_due() -> int:
    """Deliver every outbox row that is due. Returns how many were attempted."""
    return _deliver(runtime.current())


def sweep() -> int:
    """Recover rows stuck in `sending` past their lease, then get due rows delivered.

    With a worker pool (Redis) delivery is enqueued so the sweeper stays quick; in-process it is
    run here. Returns how many rows were due."""
    rt = runtime.current()
    recover_stuck(rt)
    due = due_count(rt)
    if due:
        rt.queue.enqueue(deliver_due, queue="high", quiet=True)
    return due


def prune_inbound() -> int:
    """Drop inbound dedupe rows older than WeCom's retry window (daily)."""
    return prune(runtime.current())
