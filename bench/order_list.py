"""GET /orders list and search on PostgreSQL at volume: the service call behind the endpoint.

    .venv/bin/python -m bench.order_list [--url postgresql+psycopg://...] [--orders 1000000]
                                         [--runs 100] [--no-record]

Seeds a private schema (bench_list_*) with bench/command.py's company (same shape; the timeline,
tasks, milestones and approvals left out: the list never reads them), where one order in 1,000
has the custom field 实施地点 = 杭州滨江 (stored escaped, as the app writes JSON) and the rest one
of 50 other districts; VACUUM ANALYZEs its own tables; then times `orders.list_orders` (the first
page of 21 rows, ORM objects loaded, in its own session, as GET /orders runs it; no HTTP or
serialisation) for a sales person and for finance (who sees every order), for: the plain list,
q=滨江 (custom-field value), q=客户12 and q=客户123 (customer name), status + overdue, a
created-date range. Drops the schema. Figures are appended to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime

from sqlalchemy import create_engine, text

from bench import command as world
from orderdesk.core import clock
from orderdesk.migrations.run import upgrade
from orderdesk.orders.queries import OrderFilters, list_orders
from orderdesk.runtime import build_runtime, install
from orderdesk.settings import load_settings

HANGZHOU_BINJIANG = "\\u676d\\u5dde\\u6ee8\\u6c5f"  # "杭州滨江" as json.dumps writes it
DISTRICT = "\\u533a"  # "区", escaped the same way
CASES: dict[str, OrderFilters] = {
    "list": OrderFilters(),
    "q=滨江": OrderFilters(q="滨江"),
    "q=客户12": OrderFilters(q="客户12"),
    # 111 customers (客户123, 客户1230.., 客户12300..) at 300k orders and at 1M: ~2,220 orders
    # match, enough that reading them all to sort for one page showed (branch perf12).
    "q=客户123": OrderFilters(q="客户123"),
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
    # The timeline, tasks, milestones and approvals play no part in the order list.
    skipped = ("INSERT INTO activities", "INSERT INTO tasks", "INSERT INTO milestones")
    for sql in statements:
        if sql.startswith(skipped) or sql.startswith("INSERT INTO approval_"):
            continue
        if sql.startswith("INSERT INTO orders "):
            sql = sql.replace("'CNY', '{}', 1,", f"'CNY', {site}, 1,")
            assert site in sql
        out.append(sql)
        if sql.startswith("INSERT INTO orders "):
            out.append(SEARCH_TEXT_SQL)
    return out


# What the app's mapper listener stores (core.search.order_search_text): number, title and the
# custom-field values, each character followed by "x". Filled after the bulk insert.
SEARCH_TEXT_SQL = (
    "UPDATE orders SET search_text = regexp_replace("
    "number || ' ' || title || ' ' || (custom_fields->>'site'), '(.)', '\\1x', 'g')"
)


def load(url: str, orders: int) -> world.Loaded:
    """bench/command.py's bulk load into a schema of our own, with two differences: ANALYZE
    only our tables (a database-wide ANALYZE deadlocked against a neighbour's), and drop the
    schema when loading fails."""
    sh = world.Shape(orders)
    schema = f"bench_list_{uuid.uuid4().hex[:8]}"
    with create_engine(url, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        schema_url = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
        upgrade(schema_url)
        engine = create_engine(schema_url)
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text("SET session_replication_role = replica"))
            for sql in seed_with_fields(sh):
                conn.execute(text(sql))
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # VACUUM too, as autovacuum does in service: the search_text UPDATE leaves every
            # order row twice, and index-only scans need the visibility map.
            for table in ("orders", "customers", "staff", "installments", "payment_plans"):
                conn.execute(text(f'VACUUM (ANALYZE) "{schema}"."{table}"'))
        engine.dispose()
    except BaseException:
        world.drop(url, schema)
        raise
    load_s = time.perf_counter() - started
    print(f"[{orders:,} orders] loaded in {load_s:.0f}s", flush=True)
    rt = build_runtime(load_settings({"DATABASE_URL": schema_url, "JOBS_SYNC": "true"}))
    return world.Loaded(sh, schema, rt, 0, load_s, random.Random(orders))


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
    loaded = load(args.url, args.orders)
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
