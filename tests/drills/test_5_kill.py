"""Drill 5: a worker is killed with SIGKILL mid-delivery (WeCom got the message, we never heard
back), and the scheduler leader is killed just before a run is due: the standby takes over within
a minute and catches the missed run up once; the message reaches people once."""

from __future__ import annotations

import re
import time

from redis import Redis

from orderdesk.wecom.delivery import LEASE
from tests.drills.harness import (
    Proc,
    Stack,
    all_sent,
    delivered_once,
    effects,
    figures_for,
    max_outbox_id,
    runs_fired,
    stack,
    wait_until,
)


def test_worker_and_leader_killed_nothing_lost_nothing_doubled() -> None:
    with stack("kill") as st:
        st.serve()
        worker = st.worker("worker-1")
        first = st.scheduler("scheduler-1")
        leader_id = _ident(first)
        wait_until(lambda: _leader(st) == leader_id, 30, "scheduler-1 to lead")
        standby = st.scheduler("scheduler-2")
        standby_id = _ident(standby)
        start = max_outbox_id(st)

        arrived = st.fake.hold("message/send")
        status, reply = st.callback(st.text("zhangsan", "进度 SO-2026-0001 drill5-kill"))
        assert status == 200 and "已记录" in (reply or "")
        assert arrived.wait(60), "worker-1 never reached WeCom"
        worker.kill_tree()  # mid-request: WeCom has it, the row stays `sending`
        st.fake.release()
        killed_worker = time.monotonic()
        st.worker("worker-2")

        first.kill_tree()  # the leader dies too...
        killed_leader = time.monotonic()
        st.advance(LEASE.total_seconds() + 5)  # ...and two minutes pass: sweep runs are missed
        wait_until(lambda: _leader(st) == standby_id, 60, "the standby to take over")
        takeover = time.monotonic() - killed_leader

        rows = wait_until(lambda: all_sent(st, start), 200, "the stuck message recovered")
        recovered = time.monotonic() - killed_worker
        assert effects(st, "drill5-kill") == 1
        caused, delivered, extra = delivered_once(st, start, "drill5-kill")
        assert caused >= 1 and delivered == caused and extra == 0
        fired = runs_fired(st)
        assert fired and max(fired.values()) == 1, fired  # no run twice
        # The standby's first act as leader: catch up the missed sweep (the latest one, once).
        took_over = standby.output().split("is now the active scheduler", 1)[1]
        caught_up = re.findall(r"enqueued outbox\.sweep for (\S+)", took_over)
        assert caught_up and len(caught_up) == len(set(caught_up)), caught_up
        fig = figures_for(
            "5 worker SIGKILL mid-delivery + leader SIGKILL",
            st,
            start,
            recover_seconds=recovered,
            note=f"standby led after {takeover:.0f} s; {len(rows)} rows",
        )
        fig.record()
        assert takeover < 60 and fig.lost == 0 and fig.duplicated == 0


def _ident(proc: Proc) -> str:
    found = wait_until(
        lambda: re.search(r"scheduler (sched-[0-9a-f]+) started", proc.output()), 30, "start"
    )
    return str(found.group(1))


def _leader(st: Stack) -> str | None:
    raw = Redis.from_url(st.redis.url).get("drill-kill:scheduler:leader")
    return raw.decode() if raw else None
