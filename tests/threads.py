"""Running calls at the same moment, for the tests that race requests against each other."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def together(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run every call at the same moment on its own thread; their results (or errors) in order.
    A test that freezes the clock does it once around this call, never inside the calls: the
    clock is one per process (see `clock.frozen`)."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait(timeout=20)
        try:
            results[i] = calls[i]()
        except Exception as exc:  # the caller decides which errors are expected
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    return results
