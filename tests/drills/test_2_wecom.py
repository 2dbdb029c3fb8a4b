"""Drill 2: WeCom answers HTTP 500, -1 and 45009 for a while, then recovers; an access token
expires mid-stream. Every message is delivered exactly once, with backoff between attempts, and
the token is fetched again once for all processes (two workers and the web)."""

from __future__ import annotations

import itertools
import json
import time

from tests.drills.harness import (
    Stack,
    all_sent,
    delivered_once,
    effects,
    figures_for,
    max_outbox_id,
    progress,
    stack,
    wait_until,
)


def test_wecom_errors_then_recovery_every_message_once() -> None:
    with stack("wecom") as st:
        st.serve()
        st.worker("worker-1")
        st.worker("worker-2")
        st.scheduler()
        warm = max_outbox_id(st)
        progress(st, "drill2-warmup")
        wait_until(lambda: all_sent(st, warm), 60, "the warm-up message")
        fetches = st.fake.token_fetches
        start = max_outbox_id(st)

        st.fake.fail_http("message/send", 500, 500, 500)
        st.fake.fail("message/send", -1, 45009, -1, -1, 45009, -1, 45009)
        began = time.monotonic()
        for i in range(3):
            progress(st, f"drill2-{i}")
        rows = wait_until(lambda: all_sent(st, start, at_least=3), 180, "the failed sends")
        recovered = time.monotonic() - began
        _assert_backoff(st)
        assert any(r.attempts > 1 for r in rows), "some sends failed and were retried"

        st.fake.expire_tokens()  # mid-stream: every process's cached token is now rejected
        for i in range(3, 6):
            progress(st, f"drill2-{i}")
        wait_until(lambda: all_sent(st, start, at_least=6), 60, "every message sent")

        assert [effects(st, f"drill2-{i}") for i in range(6)] == [1] * 6
        caused, delivered, extra = delivered_once(st, start, "drill2-")
        assert caused >= 6 and delivered == caused and extra == 0
        assert st.fake.token_fetches == fetches + 1, "one refresh shared by all processes"
        fig = figures_for(
            "2 WeCom 500/-1/45009 then recovery, token expired",
            st,
            start,
            recover_seconds=recovered,
            note=f"token fetches after expiry: {st.fake.token_fetches - fetches}",
        )
        fig.record()
        assert fig.lost == 0 and fig.duplicated == 0


def _assert_backoff(st: Stack) -> None:
    """Attempts at the same message are spaced out (never a hammering loop)."""
    by_message: dict[str, list[float]] = {}
    for call in st.fake.calls_to("message/send"):
        key = json.dumps((call.body or {}).get("text"), ensure_ascii=False)
        by_message.setdefault(key, []).append(call.at)
    gaps = [b - a for times in by_message.values() for a, b in itertools.pairwise(times)]
    assert gaps and min(gaps) >= 0.2, gaps
