"""Drill 4: PostgreSQL (a private initdb cluster, never the machine's own) restarts under load.

Callbacks during the restart either answer or fail so that WeCom retries (it retries the same
MsgId); none has a duplicate effect, every answered one has its effect once; the workers and the
scheduler carry on without being restarted."""

from __future__ import annotations

import threading
import time

from orderdesk.wecom.delivery import LEASE
from tests.drills.harness import (
    PgCluster,
    Stack,
    all_sent,
    delivered_once,
    effects,
    figures_for,
    fresh_database,
    max_outbox_id,
    progress,
    stack,
    wait_until,
)


def test_postgres_restart_under_load() -> None:
    cluster = PgCluster().init()
    cluster.start()
    try:
        with fresh_database(cluster.admin_url) as url, stack("pg", database_url=url) as st:
            _drill(st, cluster)
    finally:
        cluster.destroy()


def _drill(st: Stack, cluster: PgCluster) -> None:
    st.serve()
    st.worker()
    st.scheduler()
    warm = max_outbox_id(st)
    progress(st, "drill4-warmup")
    wait_until(lambda: all_sent(st, warm), 60, "the warm-up message")
    start = max_outbox_id(st)

    answered: dict[str, bool] = {}
    stop = threading.Event()

    def load() -> None:  # one user after another, each retried as WeCom retries
        i = 0
        while not stop.is_set():
            tag = f"drill4-{i:03d}"
            req = st.text("zhangsan", f"进度 SO-2026-0001 {tag}")
            answered[tag] = False
            for _ in range(3):  # WeCom delivers a callback three times in all (WECOM.md)
                status, reply = st.callback(req)
                if status == 200 and reply and "已记录" in reply:
                    answered[tag] = True
                    break
                time.sleep(1.0)
            i += 1
            time.sleep(1.0)  # a person every second: under WeCom's 30 a minute per recipient

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    time.sleep(3)
    cluster.stop("fast")  # every connection dropped, new ones refused
    down = time.monotonic()
    time.sleep(3)
    cluster.start()
    time.sleep(3)
    stop.set()
    thread.join(30)
    up = time.monotonic()

    after = "drill4-after"
    progress(st, after)  # the processes recovered without a restart
    # A delivery batch that died with its connection left rows leased (`sending`): let the lease
    # run out for everyone at once rather than wait two minutes.
    st.advance(LEASE.total_seconds() + 5)
    try:
        wait_until(lambda: all_sent(st, start), 90, "every message sent")
    except AssertionError:
        print("UNSENT", st.unsent)
        raise
    recovered = time.monotonic() - up
    counts = {tag: effects(st, tag) for tag in answered}
    assert all(n <= 1 for n in counts.values()), counts  # never a duplicate effect
    assert all(counts[t] == 1 for t, ok in answered.items() if ok), (answered, counts)
    assert effects(st, after) == 1
    caused, delivered, extra = delivered_once(st, start, "drill4-")
    assert delivered == caused and extra == 0
    assert all(p.alive() for p in st.procs), "no process had to be restarted"
    failed = [t for t, ok in answered.items() if not ok]
    fig = figures_for(
        "4 PostgreSQL restart under load",
        st,
        start,
        recover_seconds=recovered,
        note=f"{len(answered)} callbacks, {len(failed)} unanswered after 3 tries; "
        f"db down {up - down - 3:.0f} s",
    )
    fig.record()
    assert fig.lost == 0 and fig.duplicated == 0
