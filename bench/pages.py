"""H5 page benchmark: server-side time of the order detail page and the weight of the pages.

    .venv/bin/python -m bench.pages [--url postgresql+psycopg://...] [--orders 1000000]
                                    [--runs 200] [--no-record]

Seeds a private PostgreSQL schema with bench/command.py's bulk loader (generate_series: orders,
5 timeline rows each, contracts, plans, installments, projects, approvals), logs in through the
real dev-login form as each order's owner (who may see money, so the page is the heaviest
version), and times GET /m/orders/<no> through the WSGI app in-process (the whole server side:
cookie, session row, services, Jinja; no network). Page weight = HTML + CSS + JS bytes before
compression. Besides wall time it counts, per request, the SQL statements and the process's
own CPU time (time.process_time: our Python, not the database's, and not time spent waiting
for a CPU), the two figures that do not move with the load of a shared machine. Figures are
appended to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import event

from bench.command import DEFAULT_URL, NOW, drop, load, number_of, percentile
from orderdesk.app import create_app
from orderdesk.core import clock
from orderdesk.runtime import install

ROOT = Path(__file__).resolve().parent.parent
CSRF_RE = re.compile(r'name="csrf" value="([0-9a-f]+)"')
HEADING = "## bench/pages.py — H5 order detail page"


def login(client: FlaskClient, userid: str) -> None:
    form = client.get("/m/login").get_data(as_text=True)
    found = CSRF_RE.search(form)
    assert found, "no login form (sandbox + loopback expected)"
    res = client.post("/m/login/dev", data={"userid": userid, "csrf": found.group(1)})
    assert res.status_code == 302, res.status_code


def weight(client: FlaskClient, html: str) -> int:
    total = len(html.encode())
    for asset in re.findall(r'(?:href|src)="(/m/static/[^"]+)"', html):
        res = client.get(asset)
        total += len(res.get_data())
        res.close()
    return total


def measure(url: str, orders: int, runs: int) -> dict[str, float]:
    loaded = load(url, orders)
    try:
        install(loaded.rt)
        app = create_app(rt=loaded.rt)
        rng = random.Random(orders)
        clients: dict[str, FlaskClient] = {}
        times: list[float] = []
        cpu: list[float] = []
        statements = [0]
        event.listen(
            loaded.rt.db.engine,
            "before_cursor_execute",
            lambda *_a: statements.__setitem__(0, statements[0] + 1),
        )
        counted = 0
        heaviest = 0
        with clock.frozen(NOW):
            for i in range(runs + 20):
                oid = rng.randint(1, orders)
                owner = f"s{loaded.shape.owner_of(oid)}"
                if owner not in clients:
                    clients[owner] = app.test_client()
                    login(clients[owner], owner)
                before_sql = statements[0]
                started, started_cpu = time.perf_counter(), time.process_time()
                res = clients[owner].get(f"/m/orders/{number_of(oid)}")
                elapsed = (time.perf_counter() - started) * 1000
                used_cpu = (time.process_time() - started_cpu) * 1000
                assert res.status_code == 200, (number_of(oid), res.status_code)
                if i >= 20:  # after warm-up: pool, mappers, templates, plan cache
                    times.append(elapsed)
                    cpu.append(used_cpu)
                    counted += statements[0] - before_sql
                    heaviest = max(heaviest, weight(clients[owner], res.get_data(as_text=True)))
        return {
            "orders": orders,
            "timeline": loaded.timeline,
            "load_s": loaded.load_s,
            "p50": statistics.median(times),
            "p95": percentile(times, 95),
            "p99": percentile(times, 99),
            "weight": heaviest,
            "cpu_p50": statistics.median(cpu),
            "statements": counted / runs,
        }
    finally:
        loaded.rt.close()
        drop(url, loaded.schema)


def report(r: dict[str, float], runs: int, loadavg: tuple[float, float]) -> str:
    verdict_time = "met" if r["p95"] < 50 else "NOT met"
    verdict_weight = "met" if r["weight"] < 100_000 else "NOT met"
    return (
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores (1-min load average"
        f" {loadavg[0]:.1f} at start, {loadavg[1]:.1f} at end): {int(r['orders']):,} orders,"
        f" {int(r['timeline']):,} timeline rows (loaded in {r['load_s']:.0f} s); {runs} timed"
        f" GET /m/orders/<no> as the owner after 20 warm-up: p50 {r['p50']:.1f} ms,"
        f" **p95 {r['p95']:.1f} ms** (target < 50 ms: {verdict_time}), p99 {r['p99']:.1f} ms;"
        f" heaviest page HTML + CSS + JS **{int(r['weight']):,} bytes** (target < 100 KB:"
        f" {verdict_weight}). Per request: {r['statements']:.1f} SQL statements, our process's"
        f" CPU p50 {r['cpu_p50']:.1f} ms."
    )


def record(section: str) -> None:
    path = ROOT / "bench" / "RESULTS.md"
    existing = path.read_text(encoding="utf-8")
    if HEADING not in existing:
        existing = (
            existing.rstrip("\n") + f"\n\n{HEADING}\n\nCommand: `.venv/bin/python -m bench.pages`\n"
        )
    # Our section is the last one appended by this script: add the run at its end.
    before, _, after = existing.partition(HEADING)
    ours, sep, rest = after.partition("\n## ")
    updated = before + HEADING + ours.rstrip("\n") + "\n\n- " + section + "\n"
    if sep:
        updated += "\n## " + rest
    path.write_text(updated, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    start_load = os.getloadavg()[0]
    row = measure(args.url, args.orders, args.runs)
    section = report(row, args.runs, (start_load, os.getloadavg()[0]))
    print(section)
    if not args.no_record:
        record(section)


if __name__ == "__main__":
    main()
