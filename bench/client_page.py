"""Client status page benchmark: GET /c/<token> on PostgreSQL at volume (issue 15).

    .venv/bin/python -m bench.client_page [--url postgresql+psycopg://...] [--orders 1000000]
                                          [--runs 300]

Seeds a private schema with bench/command.py's company (orders, 5 timeline rows per order, every
5th order in progress with a project and 2 milestones), adds one status link per project order
(random digests, bulk) plus `--runs` links whose tokens we know, ANALYZEs, then times the whole
Flask request through the test client (rate limiter, token digest lookup, view counter, timeline
insert, commit, Jinja render) for a random known link per request, each from its own client
address so the per-address limit does not bite. The schema is dropped at the end; print only
(copy the line into bench/RESULTS.md).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from datetime import UTC, datetime

from sqlalchemy import text

from bench.command import DEFAULT_URL, NOW, drop, load, percentile
from orderdesk.app import create_app
from orderdesk.core import clock
from orderdesk.delivery.status_links import digest
from orderdesk.runtime import install

TS = "TIMESTAMPTZ '2026-05-01 00:00+00'"


def add_links(loaded_rt: object, orders: int, known: int, secret: str) -> list[str]:
    """One link per project order with an unknowable digest, and `known` links we can open."""
    rng = random.Random(15)
    tokens = [f"bench-{rng.getrandbits(128):032x}" for _ in range(known)]
    rt = loaded_rt
    with rt.db.engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(
            text(
                "INSERT INTO client_links (order_id, token_digest, created_by_id, created_at,"
                " expires_at, views) SELECT k, md5(k::text) || md5((k + 1)::text), 1,"
                f" {TS}, {TS} + INTERVAL '365 days', 0 FROM generate_series(5, :n, 5) k"
            ),
            {"n": orders},
        )
        conn.execute(
            text(
                "INSERT INTO client_links (order_id, token_digest, created_by_id, created_at,"
                f" expires_at, views) VALUES (:o, :d, 1, {TS}, {TS} + INTERVAL '365 days', 0)"
            ),
            [{"o": 5 * rng.randint(1, orders // 5), "d": digest(t, secret)} for t in tokens],
        )
        conn.execute(text("ANALYZE client_links"))
    return tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    loaded = load(args.url, args.orders)
    try:
        rt = loaded.rt
        tokens = add_links(rt, args.orders, args.runs, rt.settings.secret_key)
        install(rt)
        app = create_app(rt=rt)
        client = app.test_client()
        times: list[float] = []
        with clock.frozen(NOW):
            for i, token in enumerate(tokens[:20] + tokens):  # 20 warm-up requests first
                env = {"REMOTE_ADDR": f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"}
                started = time.perf_counter()
                res = client.get(f"/c/{token}", environ_base=env)
                elapsed = (time.perf_counter() - started) * 1000
                if res.status_code != 200:
                    raise SystemExit(f"/c/<token> answered {res.status_code}")
                if i >= 20:
                    times.append(elapsed)
        with rt.db.engine.connect() as conn:
            links = conn.execute(text("SELECT count(*) FROM client_links")).scalar_one()
        print(
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, load average"
            f" {load_before:.1f} -> {os.getloadavg()[0]:.1f}: {args.orders:,} orders,"
            f" {loaded.timeline:,} timeline rows, {links:,} status links (seeded in"
            f" {loaded.load_s:.0f} s); {len(times)} page views: p50"
            f" {statistics.median(times):.1f} ms, p95 {percentile(times, 95):.1f} ms,"
            f" p99 {percentile(times, 99):.1f} ms (target p95 < 50 ms)"
        )
    finally:
        loaded.rt.close()
        drop(args.url, loaded.schema)


if __name__ == "__main__":
    main()
