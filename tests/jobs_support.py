"""Running what the code queued, as a worker would (with Redis jobs go to RQ; without, they ran
inline already)."""

from __future__ import annotations

from rq import SimpleWorker

from orderdesk.jobqueue import QUEUES
from orderdesk.runtime import Runtime


def run_jobs(rt: Runtime) -> None:
    if rt.redis is not None:
        queues = [rt.queue.rq_queue(q) for q in QUEUES]
        SimpleWorker(queues, connection=rt.redis).work(burst=True)
