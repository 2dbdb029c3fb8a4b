"""GET /orders list and search on PostgreSQL at volume: the service call behind the endpoint.

    .venv/bin/python -m bench.order_list [--url postgresql+psycopg://...] [--orders 1000000]
                                         [--runs 100] [--no-record]

Seeds a private schema with bench/command.py's company (same shape and bulk load), where one
order in 1,000 has the custom field 实施地点 = 杭州滨江 (stored escaped, as the app writes JSON)
and the rest one of 50 other districts; ANALYZEs; then times `orders.list_orders` (the first
page of 21 rows, ORM objects loaded, in its own session, as GET /orders runs it; no HTTP, no
serialisation) for a sales person and for finance (who sees every order), for: the plain list,
q=滨江 (custom-field value), q=客户12 (customer name), status + overdue, a created-date range.
Drops the schema. Figures are appended to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime

from bench import command as world
from orderdesk.core import clock
from orderdesk.orders.queries import OrderFilters, list_orders
from orderdesk.runtime import install

HANGZHOU_BINJIANG = "\\u676d\\u5dde\\u6ee8\\u6c5f"  # "杭州滨江" as json.dumps writes it
DISTRICT = "\\u533a"  # "区", escaped the same way
CASES: dict[str, OrderFilters] = {
    "list": OrderFilters(),
    "q=滨江": OrderFilters(q="滨江"),
    "q=客户12": OrderFilters(q="客户12"),
    "in_progress+overdue": OrderFilters(status="in_progress", overdue=True),
    "created 2026-04-20..25": OrderFilters(
        created_from=date(2026, 4, 20), created_to=date(2026, 4, 25)
    ),
}


BASE_SEED = world.seed_sql


def seed_with_fields(sh: world.Shape) -> list[str]:
    statements = BASE_SEED(sh)
    site = (
        f'(CASE WHEN k % 1000 = 7 THEN \'{{"site": "{HANGZHOU_BINJIANG}"}}\''
        f" ELSE '{{\"site\": \"{DISTRICT}' || k % 50 || '\"}}' END)::json"
    )
    out = []
    for sql in statements:
        if sql.startswith("INSERT INTO orders "):
            sql = sql.replace("'CNY', '{}', 1,", f"'CNY', {site}, 1,")
            assert site in sql
        out.append(sql)
    return out


def time_case(loaded: world.Loaded, userid: str, filters: OrderFilters) -> float:
    from orderdesk.models import Staff

    with loaded.rt.db.transaction() as session:
        actor = session.query(Staff).filter_by(userid=userid).one()
        started = time.perf_counter()
        found = list_orders(session, actor=actor, filters=filters, limit=21)
        elapsed = (time.perf_counter() - started) * 1000
        if userid == "fin" and not found:
            raise SystemExit(f"finance found nothing for {filters}: the case measures nothing")
        return elapsed


def measure(loaded: world.Loaded, runs: int) -> list[tuple[str, str, float, float, int]]:
    rows = []
    rng = random.Random(7)
    who: dict[str, Callable[[], str]] = {
        "sales": lambda: f"s{rng.randint(1, loaded.shape.sales)}",
        "finance": lambda: "fin",
    }
    with clock.frozen(world.NOW):
        install(loaded.rt)
        for role, pick in who.items():
            for name, filters in CASES.items():
                for _ in range(5):
                    time_case(loaded, pick(), filters)  # warm-up
                times = [time_case(loaded, pick(), filters) for _ in range(runs)]
                p50 = statistics.median(times)
                p95 = world.percentile(times, 95)
                rows.append((role, name, p50, p95, runs))
                print(f"{role:8} {name:24} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms", flush=True)
    return rows


def report(orders: int, rows: list[tuple[str, str, float, float, int]], load_s: float) -> str:
    la = os.getloadavg()[0]
    lines = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores (1-min load average"
        f" {la:.1f}), {orders:,} orders (loaded in {load_s:.0f} s), {rows[0][4]} timed calls per"
        " case; `orders.list_orders` first page (21 rows):",
        "",
        "| reader | case | p50 | p95 | target p95 < 100 ms |",
        "|---|---|---:|---:|---|",
    ]
    for role, name, p50, p95, _ in rows:
        met = "met" if p95 < 100 else "**missed**"
        lines.append(f"| {role} | {name} | {p50:.1f} ms | {p95:.1f} ms | {met} |")
    return "\n".join(lines)


def record(section: str) -> None:
    path = world.ROOT / "bench" / "RESULTS.md"
    heading = "## bench/order_list.py — GET /orders list and search"
    existing = path.read_text(encoding="utf-8")
    if heading not in existing:
        existing = existing.rstrip("\n") + (
            f"\n\n{heading}\n\nCommand: `.venv/bin/python -m bench.order_list --orders N`\n"
        )
    path.write_text(existing.rstrip("\n") + "\n\n" + section + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=world.DEFAULT_URL)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    world.seed_sql, original = seed_with_fields, world.seed_sql
    try:
        loaded = world.load(args.url, args.orders)
    finally:
        world.seed_sql = original
    try:
        rows = measure(loaded, args.runs)
    finally:
        loaded.rt.close()
        world.drop(args.url, loaded.schema)
    section = report(args.orders, rows, loaded.load_s)
    print(section)
    if not args.no_record:
        record(section)


if __name__ == "__main__":
    main()
