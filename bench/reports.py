"""Reports at scale: AR aging, the monthly revenue report and a month of utilisation on
PostgreSQL, plus one chart PNG.

Seeds a private schema per size with bench/command.py's generator (every 5th order in progress
with a contract and a 2-installment plan, the first installment 1-90 days overdue, a third of
them paid), then adds the issue's target shape on top: installments up to 3 per order (extra
plans' rows: 13 more per 5 orders, due over the past year and the next months) and 5 hour
entries per order (on the projects, by 200 delivery people, over January-June 2026). Runs each
report as the finance user `--runs` times and prints p50 / p95, the 1M-to-10k p50 ratio and the
chart time, then drops the schema.

    .venv/bin/python -m bench.reports --sizes 10000,1000000 --runs 30
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from bench.command import DEFAULT_URL, Loaded, drop, load, percentile
from orderdesk.core import clock
from orderdesk.models import Order, Staff
from orderdesk.money import ar_balances
from orderdesk.money.receipts import record_receipt
from orderdesk.reports.charts import render
from orderdesk.reports.service import run_report

AS_OF = date(2026, 6, 1)
DELIVERY = 200  # delivery people logging the hours


def target_shape(loaded: Loaded) -> None:
    """3 installments and 5 hour entries per order (the issue's shape), bulk-inserted."""
    n = loaded.shape.orders
    ts = "TIMESTAMPTZ '2026-05-01 00:00+00'"
    with loaded.rt.db.engine.begin() as conn:
        conn.execute(text("SET session_replication_role = replica"))
        base = int(conn.execute(text("SELECT max(id) FROM staff")).scalar_one())
        conn.execute(
            text(
                "INSERT INTO staff (id, userid, name, hourly_cost_rate, active, created_at,"
                f" updated_at) SELECT {base} + g, 'd' || g, '交付' || g, 300, true, {ts}, {ts}"
                f" FROM generate_series(1, {DELIVERY}) g"
            )
        )
        conn.execute(
            text(
                f"INSERT INTO staff_roles (staff_id, role) SELECT {base} + g, 'delivery'"
                f" FROM generate_series(1, {DELIVERY}) g"
            )
        )
        # 13 more installments per plan (plans are every 5th order): 15 per 5 orders = 3 each.
        conn.execute(
            text(
                "INSERT INTO installments (plan_id, sequence, name, trigger, trigger_days, amount,"
                " due_date, status, paid_amount, invoiced_amount, created_at, updated_at)"
                " SELECT k, 2 + s, '阶段款', 'on_date', 0, 1000,"
                " DATE '2026-06-01' + ((k * 7 + s * 31) % 540 - 360),"
                " CASE WHEN (k + s) % 4 = 0 THEN 'paid' ELSE 'due' END,"
                f" CASE WHEN (k + s) % 4 = 0 THEN 1000 ELSE 0 END, 0, {ts}, {ts}"
                f" FROM generate_series(5, {n}, 5) k, generate_series(1, 13) s"
            )
        )
        conn.execute(
            text(
                "INSERT INTO time_entries (staff_id, project_id, work_date, hours, billable,"
                f" created_at, updated_at) SELECT {base} + 1 + (k * 5 + e) % {DELIVERY},"
                " 5 * (1 + (k * 5 + e) % greatest(1, " + str(n // 5) + ")),"
                " DATE '2026-01-01' + (k * 5 + e) % 181, 1 + (k + e) % 8, true, "
                + ts
                + ", "
                + ts
                + f" FROM generate_series(1, {n}) k, generate_series(1, 5) e"
            )
        )
    # VACUUM, not only ANALYZE: a bulk load leaves the visibility map empty, which autovacuum
    # fills on a live table; the revenue report's index-only scan (ix_installments_due_month)
    # needs it. (On this shared server another session's old snapshot can keep VACUUM from
    # marking the new pages all-visible: see bench/RESULTS.md, perf13.)
    with loaded.rt.db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        for table in ("installments", "payment_plans", "orders", "time_entries", "staff"):
            conn.execute(text(f"VACUUM ANALYZE {table}"))
        conn.execute(text("ANALYZE staff_roles"))


def _time(fn: Callable[[], Any], runs: int) -> tuple[float, float]:
    fn()  # warm-up
    values = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        values.append((time.perf_counter() - started) * 1000)
    return statistics.median(values), percentile(values, 95)


def _receipts(session: Session, loaded: Loaded, fin: Staff, count: int = 50) -> float:
    """`count` receipts on random orders with a plan (every 5th), each its own commit: the kept
    balances take each one as a delta. Returns the mean ms per receipt."""
    rng = random.Random(7)
    started = time.perf_counter()
    with clock.frozen(datetime(2026, 6, 1, 4, 0, tzinfo=UTC)):
        for _ in range(count):
            order_id = 5 * rng.randint(1, loaded.shape.orders // 5)
            number = session.scalar(select(Order.number).where(Order.id == order_id))
            assert number is not None
            amount = Decimal(rng.randint(100, 900)) + Decimal("0.37")
            record_receipt(session, actor=fin, number=number, amount=amount, confirm_duplicate=True)
            session.commit()
    return (time.perf_counter() - started) * 1000 / count


def measure(url: str, size: int, runs: int) -> dict[str, Any]:
    loaded = load(url, size)
    try:
        started = time.perf_counter()
        target_shape(loaded)
        print(f"[{size:,}] target shape added in {time.perf_counter() - started:.0f}s")
        with loaded.rt.db.transaction() as session:
            installments = session.execute(text("SELECT count(*) FROM installments")).scalar_one()
            hours = session.execute(text("SELECT count(*) FROM time_entries")).scalar_one()
            fin = session.scalars(select(Staff).where(Staff.userid == "fin")).one()
            sales = session.scalars(select(Staff).where(Staff.userid == "s1")).one()

            def aging() -> Any:
                return run_report(session, actor=fin, name="ar-aging", as_of=AS_OF)

            def aging_own() -> Any:
                return run_report(session, actor=sales, name="ar-aging", as_of=AS_OF)

            def revenue() -> Any:
                return run_report(session, actor=fin, name="revenue", period="2026-05")

            def utilisation() -> Any:
                return run_report(
                    session, actor=fin, name="utilisation", period="2026-05", as_of=AS_OF
                )

            out: dict[str, Any] = {"orders": size, "installments": installments, "hours": hours}
            out["utilisation"] = _time(utilisation, runs)
            out["aging_live"] = _time(aging, max(3, runs // 4))  # not rebuilt yet: installments
            started = time.perf_counter()
            ar_balances.rebuild(session, AS_OF)  # what the nightly job does
            session.commit()
            out["rebuild_s"] = time.perf_counter() - started
            out["aging"] = _time(aging, runs)  # the kept balances
            out["receipts"] = _receipts(session, loaded, fin)
            out["aging_after_writes"] = _time(aging, runs)
            out["drift"] = len(ar_balances.verify(session))
            out["aging_sales"] = _time(aging_own, runs)
            out["revenue"] = _time(revenue, runs)
            by_owner = run_report(
                session, actor=fin, name="ar-aging", as_of=AS_OF, group_by="owner"
            )
            out["chart"] = _time(lambda: render(by_owner), runs)
            out["load_s"] = loaded.load_s
        return out
    finally:
        loaded.rt.close()
        drop(url, loaded.schema)


def report(rows: list[dict[str, Any]], runs: int, loads: tuple[float, float]) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        f"Run {stamp}, {runs} timed runs per report, 1-min load average {loads[0]:.1f} at start,"
        f" {loads[1]:.1f} at end (2 cores shared with the other helpers' test runs):",
        "",
        "| orders | installments | hour entries | AR aging p50 / p95 (finance, all) | AR aging"
        " p50 / p95 (one sales) | month revenue p50 / p95 | month utilisation p50 / p95 |"
        " chart PNG p50 / p95 |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    keys = ("aging", "aging_sales", "revenue", "utilisation", "chart")
    for r in rows:
        cells = [f"{r[k][0]:.1f} / {r[k][1]:.1f} ms" for k in keys]
        lines.append(
            f"| {r['orders']:,} | {r['installments']:,} | {r['hours']:,} | "
            + " | ".join(cells)
            + " |"
        )
    lines += ["", "AR aging (finance, all) in detail:", ""]
    for r in rows:
        live, kept, after = r["aging_live"], r["aging"], r["aging_after_writes"]
        lines.append(
            f"- {r['orders']:,} orders: from the installments {live[0]:.1f} / {live[1]:.1f} ms;"
            f" nightly rebuild {r['rebuild_s']:.1f} s; from the kept balances {kept[0]:.1f} /"
            f" {kept[1]:.1f} ms; after 50 receipts ({r['receipts']:.1f} ms each) {after[0]:.1f} /"
            f" {after[1]:.1f} ms; balances vs installments: {r['drift']} differences"
        )
    if len(rows) > 1:
        big, small = rows[-1], rows[0]
        ratios = ", ".join(f"{k} {big[k][0] / small[k][0]:.2f}" for k in keys)
        lines += ["", f"p50 ratio {big['orders']:,} / {small['orders']:,}: {ratios}."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    before = os.getloadavg()[0]
    rows = [measure(args.url, int(s), args.runs) for s in args.sizes.split(",")]
    print(report(rows, args.runs, (before, os.getloadavg()[0])))


if __name__ == "__main__":
    main()
