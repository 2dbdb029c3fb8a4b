"""Run a handler within the callback's budget; past it, let the late result go out via the outbox.

WeCom waits 5 s for an answer (and drops a bot card click after 5 s). The handler runs on a small
thread pool; the request thread waits up to `handler_budget_seconds`. A handler still running
then keeps running: when it finishes, its reply is written to the outbox (message/send or the
bot's response_url) in its own transaction, and delivered by the worker after commit.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TYPE_CHECKING

from orderdesk import metrics
from orderdesk.wecom import outbox
from orderdesk.wecom.envelopes import OutboxItem, late_messages
from orderdesk.wecom.events import Event
from orderdesk.wecom.replies import Reply, TextReply

if TYPE_CHECKING:
    from orderdesk.runtime import Runtime

log = logging.getLogger(__name__)

LATE_FAILURE_TEXT = "处理失败,请稍后再试"
POOL_SIZE = 16

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_late: set[Future[Reply | None]] = set()
_late_lock = threading.Lock()

Dispatch = Callable[[Event, "Runtime"], Reply | None]


@dataclass(frozen=True)
class Outcome:
    finished: bool
    reply: Reply | None = None
    error: BaseException | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=POOL_SIZE, thread_name_prefix="bot-handler")
        return _pool


def run(dispatch: Dispatch, event: Event, rt: Runtime, *, started: float | None = None) -> Outcome:
    """Dispatch `event`; wait at most the budget (counted from `started`, the request start)."""
    budget = rt.settings.handler_budget_seconds
    remaining = budget - (time.monotonic() - started) if started is not None else budget
    ctx = contextvars.copy_context()
    future = _executor().submit(ctx.run, dispatch, event, rt)
    try:
        return Outcome(True, future.result(timeout=max(remaining, 0.01)))
    except FutureTimeout:
        log.warning(
            "handler for %s past its %.1fs budget; answering later", event.dedupe_key, budget
        )
    except Exception as exc:
        return Outcome(True, error=exc)
    with _late_lock:
        _late.add(future)
    future.add_done_callback(lambda f: _deliver_late(rt, event, f))
    return Outcome(False)


def _deliver_late(rt: Runtime, event: Event, future: Future[Reply | None]) -> None:
    try:
        try:
            reply = future.result()
        except Exception:
            log.exception("late handler for %s failed", event.dedupe_key)
            reply = TextReply(LATE_FAILURE_TEXT)
        queue(rt, late_messages(reply, event))
        metrics.count_late_reply(event.channel)
    except Exception:
        log.exception("could not queue the late reply for %s", event.dedupe_key)
    finally:
        with _late_lock:
            _late.discard(future)


def queue(rt: Runtime, items: list[OutboxItem]) -> None:
    """Write reply messages to the outbox in one transaction (delivered after commit)."""
    if not items:
        return
    with rt.db.transaction() as session:
        for item in items:
            outbox.add(
                session,
                key=item.key,
                channel=item.channel,
                recipient=item.recipient,
                payload=item.payload,
            )


def drain(timeout: float = 10.0) -> bool:
    """Wait until every late handler has queued its reply (tests, `orderdesk chat --local`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with _late_lock:
            if not _late:
                return True
        time.sleep(0.01)
    return False
