"""Ticket SLA scan benchmark: one pass of `delivery.ticket_scan.scan` over many open tickets
on PostgreSQL (issue 15: 100,000 open tickets in < 5 s and < 300 MB).

    .venv/bin/python -m bench.sla [--url postgresql+psycopg://...] [--tickets 100000]
                                  [--orders 20000]

Seeds a private schema with bench/command.py's company (`--orders` orders, their staff), then
`--tickets` open P1 tickets spread over the orders and the sales staff, and times three passes
(the scan and its commit; delivering the outbox is the worker's job and is not timed):
  1. typical: 1 % of the tickets just breached (level 1 notices, batched per person);
  2. steady state: the same data right after, nothing due;
  3. worst case: freshly seeded, every ticket breaches at once.
Peak RSS is the process's high-water mark (ru_maxrss) after each pass, imports included. The
schema is dropped at the end; the line printed goes into bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from datetime import UTC, datetime

from sqlalchemy import func, select, text

from bench.command import DEFAULT_URL, NOW, drop, load
from orderdesk.core import clock
from orderdesk.delivery.ticket_scan import scan
from orderdesk.models import OutboxMessage, TicketEvent
from orderdesk.runtime import Runtime, install

SEED = """
INSERT INTO tickets (number, title, description, category, priority, status, customer_id,
  order_id, assignee_id, created_by_id, created_at, updated_at, reopen_count, around_the_clock,
  sla_started_at, first_response_due_at, resolution_due_at, remind_at, reminded_at, breach_at,
  escalate2_at, escalate3_at, escalation_level, breached)
SELECT 'TK-2026-' || lpad(g::text, 7, '0'), '问题 ' || g, '', 'bug', 'P1', 'new',
  o.customer_id, o.id, g % :sales + 1, 1, t.start, t.start, 0, true, t.start,
  t.start + interval '1 hour', t.start + interval '8 hours', t.start + interval '45 minutes',
  CASE WHEN g % :every = 0 THEN t.start + interval '45 minutes' END,
  t.start + interval '1 hour', t.start + interval '2 hours', t.start + interval '3 hours', 0, false
FROM generate_series(1, :n) g
JOIN orders o ON o.id = g % :orders + 1
CROSS JOIN LATERAL (SELECT CASE WHEN g % :every = 0 THEN CAST(:now AS timestamptz)
  - interval '61 minutes' ELSE CAST(:now AS timestamptz) - interval '10 minutes' END AS start) t
"""


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed_pass(rt: Runtime) -> tuple[float, int, int]:
    """(seconds, tickets escalated, messages queued) for one scan and its commit."""
    session = rt.db.Session()
    try:
        started = time.perf_counter()
        result = scan(session)
        session.info.pop("outbox_dirty", None)  # delivery is the worker's, not timed here
        session.commit()
        elapsed = time.perf_counter() - started
    finally:
        session.close()
    return elapsed, sum(result.escalated.values()) + result.reminded, result.messages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=20_000)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    loaded = load(args.url, args.orders)
    try:
        rt = loaded.rt
        install(rt)
        params = {"n": args.tickets, "orders": args.orders, "sales": loaded.shape.sales}
        passes = []
        for every in (100, 1):  # 1 % due (then a steady pass), then all due at once
            with rt.db.engine.begin() as conn:
                conn.execute(text("DELETE FROM ticket_events"))
                conn.execute(text("DELETE FROM tickets"))
                conn.execute(text(SEED), {**params, "now": NOW, "every": every})
                conn.execute(text("ANALYZE tickets"))
            with clock.frozen(NOW):
                passes.append(timed_pass(rt))
                if every == 100:
                    passes.append(timed_pass(rt))
        with rt.db.transaction() as s:
            events = s.scalar(select(func.count()).select_from(TicketEvent))
            messages = s.scalar(select(func.count()).select_from(OutboxMessage))
        names = ("typical (1% breached)", "steady (nothing due)", "worst (all breach at once)")
        figures = "; ".join(
            f"{name}: {sec:.2f} s, {claimed:,} claimed, {msgs} messages"
            for name, (sec, claimed, msgs) in zip(names, passes, strict=True)
        )
        print(
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, load average"
            f" {load_before:.1f} -> {os.getloadavg()[0]:.1f}: {args.tickets:,} open tickets over"
            f" {args.orders:,} orders; {figures}; peak RSS {rss_mb():.0f} MB;"
            f" {events:,} ticket events, {messages:,} outbox rows (target < 5 s, < 300 MB)"
        )
    finally:
        loaded.rt.close()
        drop(args.url, loaded.schema)


if __name__ == "__main__":
    main()
