"""Export at scale: `orders` (and `journal`) as streaming xlsx and CSV on PostgreSQL, with the
peak RSS before and after, so it shows whether memory grows with the rows.

Seeds a private schema with bench/command.py's generator; orders get a signed contract date here
(the generator leaves it empty) so the orders export has rows to write.

    .venv/bin/python -m bench.export --orders 300000
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from datetime import date
from pathlib import Path

from sqlalchemy import select, text

from bench.command import DEFAULT_URL, drop, load
from orderdesk.exports.service import export
from orderdesk.models import Staff


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--orders", type=int, default=300000)
    args = parser.parse_args()
    loaded = load(args.url, args.orders)
    lines = [
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load {os.getloadavg()[0]:.1f}:"
    ]
    try:
        with loaded.rt.db.transaction() as session:
            session.execute(text("UPDATE contracts SET signed_date = DATE '2026-05-15'"))
            # Fresh statistics: with the load's (all dates empty) the planner expects no contract
            # in the period and picks a nested loop that never finishes (seen at 300,000).
            session.execute(text("ANALYZE contracts"))
            fin = session.scalars(select(Staff).where(Staff.userid == "fin")).one()
            with tempfile.TemporaryDirectory() as tmp:
                for kind, fmt in (("orders", "xlsx"), ("orders", "csv")):
                    path = Path(tmp) / f"{kind}.{fmt}"
                    before = _rss_mb()
                    started = time.perf_counter()
                    rows = export(
                        session,
                        actor=fin,
                        kind=kind,
                        date_from=date(2026, 5, 1),
                        date_to=date(2026, 5, 31),
                        fmt=fmt,
                        path=path,
                    )
                    took = time.perf_counter() - started
                    lines.append(
                        f"- {kind} {fmt}: {rows:,} rows in {took:.1f} s"
                        f" ({rows / took:,.0f} rows/s), {path.stat().st_size / 1e6:.1f} MB,"
                        f" peak RSS {before:.0f} -> {_rss_mb():.0f} MB"
                    )
            session.rollback()
    finally:
        loaded.rt.close()
        drop(args.url, loaded.schema)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
