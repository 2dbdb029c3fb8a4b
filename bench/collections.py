"""Collections benchmark: overdue scan + morning digest build on PostgreSQL at volume.

    .venv/bin/python -m bench.collections [--url postgresql+psycopg://...] [--no-record]

Seeds a private schema with generate_series (100,000 installments; 10,000 overdue across 2,000
owners; 500 bound groups), times `money.digests.morning_digest` (one query for the scan,
grouping in memory, one batched outbox insert), checks that the number of messages equals
owners + groups, and drops the schema. Figures are appended to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.orm import configure_mappers

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from orderdesk.db import Database  # noqa: E402
from orderdesk.migrations.run import upgrade  # noqa: E402
from orderdesk.money.digests import morning_digest  # noqa: E402
from orderdesk.money.reminders import scan_reminders  # noqa: E402
from orderdesk.settings import load_settings  # noqa: E402

OWNERS, GROUPS, ORDERS, PER_ORDER, OVERDUE = 2_000, 500, 25_000, 4, 10_000
TODAY = date(2026, 6, 1)  # a Monday
NOW = datetime(2026, 6, 1, 1, 10, tzinfo=UTC)  # 09:10 in Shanghai
DEFAULT_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

SEED = [
    "INSERT INTO order_types (id, code, name, field_schema, default_billing_method, active,"
    " created_at, updated_at) VALUES (1, 'svc', '服务', '[]', 'fixed', true, now(), now())",
    f"INSERT INTO staff (id, userid, name, hourly_cost_rate, active, created_at, updated_at)"
    f" SELECT g, 'u' || g, '销售' || g, 0, true, now(), now() FROM generate_series(1, {OWNERS}) g",
    f"INSERT INTO customers (id, name, owner_id, tags, is_new, created_at, updated_at)"
    f" SELECT g, '客户' || g, g, '[]', false, now(), now() FROM generate_series(1, {OWNERS}) g",
    # Order k belongs to owner and customer (k % OWNERS) + 1.
    f"INSERT INTO contracts (id, number, customer_id, title, amount, currency, tax_rate,"
    f" payment_terms, status, created_at, updated_at)"
    f" SELECT k, 'HT' || k, (k % {OWNERS}) + 1, '', 4000, 'CNY', 0.06, '[]', 'signed', now(),"
    f" now() FROM generate_series(1, {ORDERS}) k",
    f"INSERT INTO orders (id, number, title, order_type_id, customer_id, contract_id, owner_id,"
    f" status, amount, amount_overridden, discount_rate, currency, custom_fields, version,"
    f" created_at, updated_at)"
    f" SELECT k, 'SO' || k, '订单' || k, 1, (k % {OWNERS}) + 1, k, (k % {OWNERS}) + 1,"
    f" 'in_progress', 4000, false, 0, 'CNY', '{{}}', 1, now(), now()"
    f" FROM generate_series(1, {ORDERS}) k",
    f"INSERT INTO payment_plans (id, contract_id, order_id, total, created_at, updated_at)"
    f" SELECT k, k, k, 4000, now(), now() FROM generate_series(1, {ORDERS}) k",
    # Sequence 1 of the first OVERDUE orders is 1..60 days overdue; everything else is due
    # 30+ days from now (outside the 7-day digest horizon).
    f"INSERT INTO installments (plan_id, sequence, name, trigger, trigger_days, amount, due_date,"
    f" status, paid_amount, invoiced_amount, created_at, updated_at)"
    f" SELECT k, s, '第' || s || '期', 'on_date', 0, 1000,"
    f" CASE WHEN s = 1 AND k <= {OVERDUE} THEN DATE '{TODAY}' - (1 + k % 60)"
    f" ELSE DATE '{TODAY}' + 30 + s * 30 END, 'due', 0, 0, now(), now()"
    f" FROM generate_series(1, {ORDERS}) k, generate_series(1, {PER_ORDER}) s",
    f"INSERT INTO chat_bindings (kind, chat_id, customer_id, audience, active, created_at)"
    f" SELECT 'appchat', 'grp' || g, g, 'internal', true, now()"
    f" FROM generate_series(1, {GROUPS}) g",
    "ANALYZE installments, orders, payment_plans, customers, staff, chat_bindings",
]


def run(url: str, record: bool) -> dict[str, float]:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in url else "?"
    schema_url = f"{url}{sep}options=-csearch_path%3D{schema}"
    db = Database(schema_url)
    try:
        upgrade(schema_url)
        t0 = time.perf_counter()
        with db.engine.begin() as conn:
            for stmt in SEED:
                conn.execute(text(stmt))
            n_inst = conn.execute(text("SELECT count(*) FROM installments")).scalar_one()
        seed_s = time.perf_counter() - t0
        settings = load_settings({"DATABASE_URL": schema_url, "TIMEZONE": "Asia/Shanghai"})
        # A running worker has its mappers configured long before a job; do it outside the timing.
        configure_mappers()

        t1 = time.perf_counter()
        with db.transaction() as session:
            stats = morning_digest(session, settings=settings, today=TODAY, now=NOW)
        digest_s = time.perf_counter() - t1
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        t2 = time.perf_counter()
        with db.transaction() as session:
            reminders = scan_reminders(session, settings=settings, today=TODAY, now=NOW)
        dunning_s = time.perf_counter() - t2
        peak2_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        expected = OWNERS + GROUPS
        figures = {
            "installments": n_inst,
            "overdue_items": stats.items,
            "messages": stats.messages,
            "expected_messages": expected,
            "seed_s": seed_s,
            "digest_s": digest_s,
            "peak_rss_mb": peak_mb,
            "dunning_rows": reminders.dunning,
            "dunning_s": dunning_s,
            "peak_rss_after_dunning_mb": peak2_mb,
        }
        ok = stats.messages == expected and digest_s < 5 and peak_mb < 300
        for k, v in figures.items():
            print(f"{k:>28}: {v:.3f}" if isinstance(v, float) else f"{k:>28}: {v}")
        print("PASS" if ok else "FAIL")
        if record:
            _record(figures, ok)
        if not ok:
            raise SystemExit(1)
        return figures
    finally:
        db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def _record(f: dict[str, float], ok: bool) -> None:
    path = ROOT / "bench" / "RESULTS.md"
    heading = "## Collections (bench/collections.py)"
    entry = (
        f"\n- {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, `.venv/bin/python -m bench.collections`: "
        f"{f['installments']:,} installments, {f['overdue_items']:,} overdue, "
        f"{OWNERS:,} owners + {GROUPS} groups -> **{f['messages']:,} messages** "
        f"(expected {f['expected_messages']:,}); overdue scan + digest build "
        f"**{f['digest_s']:.2f} s**, peak RSS **{f['peak_rss_mb']:.0f} MB**; "
        f"dunning scan {f['dunning_s']:.2f} s ({f['dunning_rows']:,} rows, one per "
        f"installment-level by design); seeding {f['seed_s']:.1f} s. "
        f"{'PASS' if ok else 'FAIL'} (< 5 s, < 300 MB, messages = recipients).\n"
    )
    text_ = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    if heading not in text_:
        text_ = text_.rstrip("\n") + f"\n\n{heading}\n"
    # Append under our own heading only (other sections belong to other benchmarks).
    start = text_.index(heading) + len(heading)
    nxt = text_.find("\n## ", start)
    end = len(text_) if nxt == -1 else nxt
    section = text_[start:end].rstrip("\n") + entry
    path.write_text(text_[:start] + section + text_[end:], encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    run(args.url, record=not args.no_record)


if __name__ == "__main__":
    main()
