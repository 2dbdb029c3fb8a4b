"""gunicorn settings for `orderdesk serve` (passed as `--config python:gunicorn_conf`)."""

from typing import Any

from orderdesk.metrics import mark_worker_dead


def child_exit(_server: Any, worker: Any) -> None:
    # Multiprocess metrics: a dead worker's live gauges must not be summed any more.
    mark_worker_dead(worker.pid)
