"""Drill 1: scheduled jobs fire in the standalone scheduler (the production shape).

The processes believe it is 09:16:40 on a working day (ORDERDESK_CLOCK_OFFSET_FILE, the same
for all of them), so within a minute the real `orderdesk scheduler` fires the 09:17 dunning run
and the morning digest (ORDERDESK_DIGEST_TIME=09:17), a real `orderdesk worker` runs them, and
the outbox sweep retries a send that WeCom answered with HTTP 500.
"""

from __future__ import annotations

import time
from typing import Any

from tests.drills.harness import (
    Stack,
    all_sent,
    business_morning_offset,
    figures_for,
    max_outbox_id,
    outbox,
    stack,
    wait_until,
)


def test_scheduled_jobs_fire_and_the_sweep_retries_a_failed_send() -> None:
    with stack("scheduled", ORDERDESK_DIGEST_TIME="09:17") as st:
        st.set_clock(business_morning_offset("09:16:40"))
        start = max_outbox_id(st)
        # The first send of the morning fails (HTTP 500 on the call and both quick retries).
        st.fake.fail_http("message/send", 500, 500, 500)
        st.serve()
        st.worker()
        st.scheduler()
        began = time.monotonic()
        rows = wait_until(
            lambda: _keys(st, start, "dun:") and _keys(st, start, "digest:"),
            120,
            "the 09:17 dunning and digest runs",
        )
        rows = wait_until(lambda: all_sent(st, start), 150, "every message sent")
        recovered = time.monotonic() - began
        keys = [r.idempotency_key for r in rows]
        assert len(keys) == len(set(keys))
        assert any(k.startswith("dun:") for k in keys) and any(
            k.startswith("digest:") for k in keys
        )
        retried = [r for r in rows if r.attempts > 1]
        assert retried, "the HTTP 500 send was retried by the sweep"
        # Another minute of scheduler ticks adds nothing: each run fired once.
        time.sleep(15)
        assert [r.idempotency_key for r in outbox(st, start)] == keys
        fig = figures_for(
            "1 scheduled jobs (standalone scheduler)",
            st,
            start,
            recover_seconds=recovered,
            note="HTTP 500 once, retried by the sweep",
        )
        fig.record()
        assert fig.lost == 0 and fig.duplicated == 0


def _keys(st: Stack, start: int, prefix: str) -> list[Any]:
    return [r for r in outbox(st, start) if r.idempotency_key.startswith(prefix)]
