"""Drill 3: Redis dies for a minute and comes back (empty: it keeps nothing on disk).

Callbacks keep answering (dedupe falls back to the database); WeCom's retry of a callback gets
the same reply and one effect, during the outage and just after it; messages caused during the
outage are delivered after it, once; the scheduler's leadership resumes and no run fires twice.
"""

from __future__ import annotations

import os
import time

from redis import Redis

from tests.drills.harness import (
    all_sent,
    delivered_once,
    effects,
    figures_for,
    max_outbox_id,
    progress,
    runs_fired,
    stack,
    wait_until,
)

OUTAGE_SECONDS = float(os.environ.get("DRILL_REDIS_OUTAGE", "60"))


def test_redis_outage_nothing_lost_nothing_doubled() -> None:
    with stack("redis") as st:
        st.serve()
        st.worker()
        st.scheduler("scheduler-1")
        st.scheduler("scheduler-2")
        warm = max_outbox_id(st)
        progress(st, "drill3-warmup")
        wait_until(lambda: all_sent(st, warm), 60, "the warm-up message")
        start = max_outbox_id(st)

        st.redis.kill()
        down_at = time.monotonic()
        retried = st.text("zhangsan", "进度 SO-2026-0001 drill3-retried")
        first = st.callback(retried)
        again = st.callback(retried)  # WeCom's retry of the same MsgId
        assert first[0] == 200 and first == again, (first, again)
        late = st.text("zhangsan", "进度 SO-2026-0001 drill3-late")
        assert st.callback(late)[0] == 200
        for i in range(3):
            progress(st, f"drill3-{i}")
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_at)))

        st.redis.start()
        back_at = time.monotonic()
        assert st.callback(late)[0] == 200  # retried just after Redis came back: still one effect
        rows = wait_until(lambda: all_sent(st, start, at_least=5), 150, "the outage's messages")
        recovered = time.monotonic() - back_at

        tags = ["drill3-retried", "drill3-late", *(f"drill3-{i}" for i in range(3))]
        assert {t: effects(st, t) for t in tags} == dict.fromkeys(tags, 1)
        caused, delivered, extra = delivered_once(st, start, "drill3-")
        assert caused >= 5 and delivered == caused and extra == 0
        assert all(p.alive() for p in st.procs), "no process died with Redis"
        leader = Redis.from_url(st.redis.url).get("drill-redis:scheduler:leader")
        assert leader, "a scheduler leads again"
        assert max(runs_fired(st).values(), default=1) == 1, runs_fired(st)
        fig = figures_for(
            f"3 Redis down {OUTAGE_SECONDS:.0f} s, back empty",
            st,
            start,
            recover_seconds=recovered,
            note=f"{len(rows)} rows; callbacks answered throughout",
        )
        fig.record()
        assert fig.lost == 0 and fig.duplicated == 0
