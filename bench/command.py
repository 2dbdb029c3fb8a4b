"""Chat-command benchmark: server-side time of `查 <订单号>` and `逾期` on PostgreSQL at volume.

    .venv/bin/python -m bench.command [--url postgresql+psycopg://...] [--sizes 10000,1000000]
                                      [--runs 300] [--no-record]

For each size it seeds a private schema with generate_series (orders, 5 timeline rows per order,
contracts/plans/installments with overdue ones, projects with tasks and milestones, pending
approval requests), VACUUM ANALYZEs, then times `bot.router.router.dispatch` (the whole server side:
transaction, staff middleware, services, reply rendering; no HTTP, no crypto) for `查 <number>`
asked by the order's owner and `逾期` asked by a sales person, and drops the schema.

The company grows with its orders (one sales person per 500 orders, ten per manager, a customer per
20 orders), so per-person data stays the same and the 1M/10k ratio measures how lookups scale with
table size, not how much more one person owns. Figures are appended to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from orderdesk.bot.router import router  # noqa: E402
from orderdesk.core import clock  # noqa: E402
from orderdesk.migrations.run import upgrade  # noqa: E402
from orderdesk.runtime import Runtime, build_runtime, install  # noqa: E402
from orderdesk.settings import load_settings  # noqa: E402
from orderdesk.wecom.events import TextMessage  # noqa: E402
from orderdesk.wecom.replies import CardReply, MarkdownReply, TextReply  # noqa: E402

DEFAULT_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
TODAY = "2026-06-01"
YEARS = 7  # numbers SO-2020-xxxxxx .. SO-2026-xxxxxx keep the sequence within 6 digits


def number_of(order_id: int) -> str:
    return f"SO-{2020 + order_id % YEARS}-{order_id // YEARS + 1:04d}"


@dataclass(frozen=True)
class Shape:
    orders: int

    @property
    def sales(self) -> int:
        return max(20, self.orders // 500)

    @property
    def managers(self) -> int:
        return max(2, self.sales // 10)

    @property
    def customers(self) -> int:
        return max(50, self.orders // 20)

    def owner_of(self, order_id: int) -> int:
        return order_id % self.sales + 1


def seed_sql(sh: Shape) -> list[str]:
    n, s, m, c = sh.orders, sh.sales, sh.managers, sh.customers
    fin, pm = s + m + 1, s + m + 2
    ts = "TIMESTAMPTZ '2026-05-01 00:00+00'"
    return [
        "SET synchronous_commit = off",
        f"INSERT INTO departments (id, name, head_userid) SELECT g, '销售' || g || '部',"
        f" 'm' || g FROM generate_series(1, {m}) g",
        # ids 1..s are sales (department and manager by id), then managers, finance, pm;
        # managers go in first because sales rows point at them.
        f"INSERT INTO staff (id, userid, name, department_id, hourly_cost_rate, active,"
        f" created_at, updated_at) SELECT {s} + g, 'm' || g, '经理' || g, g, 0, true, {ts}, {ts}"
        f" FROM generate_series(1, {m}) g",
        f"INSERT INTO staff (id, userid, name, department_id, manager_id, hourly_cost_rate,"
        f" active, created_at, updated_at) SELECT g, 's' || g, '销售' || g, g % {m} + 1,"
        f" {s} + g % {m} + 1, 0, true, {ts}, {ts} FROM generate_series(1, {s}) g",
        f"INSERT INTO staff (id, userid, name, hourly_cost_rate, active, created_at, updated_at)"
        f" VALUES ({fin}, 'fin', '财务', 0, true, {ts}, {ts}),"
        f" ({pm}, 'pm', '项目经理', 0, true, {ts}, {ts})",
        f"INSERT INTO staff_roles (staff_id, role) SELECT g, CASE WHEN g <= {s} THEN 'sales'"
        f" WHEN g <= {s + m} THEN 'manager' WHEN g = {fin} THEN 'finance' ELSE 'pm' END"
        f" FROM generate_series(1, {pm}) g",
        f"SELECT setval(pg_get_serial_sequence('staff', 'id'), {pm})",
        "INSERT INTO order_types (id, code, name, field_schema, default_billing_method, active,"
        f" created_at, updated_at) VALUES (1, 'impl', '实施服务', '[]', 'fixed', true, {ts}, {ts})",
        "INSERT INTO approval_flows (id, code, name, conditions, priority, remind_after_hours,"
        " escalate_after_hours, active, created_at, updated_at)"
        f" VALUES (1, 'std', '标准审批', '{{}}', 0, 24, 48, true, {ts}, {ts})",
        f"INSERT INTO customers (id, name, owner_id, tags, is_new, created_at, updated_at)"
        f" SELECT g, '客户' || g || '有限公司', g % {s} + 1, '[]', false, {ts}, {ts}"
        f" FROM generate_series(1, {c}) g",
        # Every 5th order is in progress with a contract, plan and project; every 10th
        # (offset 3) waits for approval; the rest are closed or drafts.
        f"INSERT INTO contracts (id, number, customer_id, title, amount, currency, tax_rate,"
        f" payment_terms, status, created_at, updated_at) SELECT k, 'HT' || k,"
        f" (k::bigint * 7919) % {c} + 1, '', 100000, 'CNY', 0.06, '[]', 'signed', {ts}, {ts}"
        f" FROM generate_series(5, {n}, 5) k",
        f"INSERT INTO orders (id, number, title, order_type_id, customer_id, contract_id,"
        f" owner_id, status, amount, amount_overridden, discount_rate, currency, custom_fields,"
        f" version, created_at, updated_at)"
        # lpad() would cut sequences past 9999: pad only short ones (as format_number does).
        f" SELECT k, 'SO-' || (2020 + k % {YEARS}) || '-' || CASE WHEN k / {YEARS} + 1 < 10000"
        f" THEN lpad((k / {YEARS} + 1)::text, 4, '0') ELSE (k / {YEARS} + 1)::text END,"
        f" '项目' || k, 1, (k::bigint * 7919) % {c} + 1, CASE WHEN k % 5 = 0 THEN k END,"
        f" k % {s} + 1,"
        f" CASE WHEN k % 5 = 0 THEN 'in_progress' WHEN k % 10 = 3 THEN 'pending_approval'"
        f" WHEN k % 2 = 0 THEN 'closed' ELSE 'draft' END, 100000, false, 0, 'CNY', '{{}}', 1,"
        f" {ts} - (k % 1000) * INTERVAL '1 hour', {ts} FROM generate_series(1, {n}) k",
        f"SELECT setval(pg_get_serial_sequence('orders', 'id'), {n})",
        f"INSERT INTO payment_plans (id, contract_id, order_id, total, created_at, updated_at)"
        f" SELECT k, k, k, 100000, {ts}, {ts} FROM generate_series(5, {n}, 5) k",
        # Installment 1 (30%) fell due 1..90 days ago; one plan in three has paid it.
        f"INSERT INTO installments (plan_id, sequence, name, trigger, trigger_days, amount,"
        f" due_date, status, paid_amount, invoiced_amount, created_at, updated_at)"
        f" SELECT k, s, CASE s WHEN 1 THEN '首付款' ELSE '验收款' END, 'on_date', 0,"
        f" CASE s WHEN 1 THEN 30000 ELSE 70000 END,"
        f" CASE s WHEN 1 THEN DATE '{TODAY}' - (1 + k % 90) ELSE DATE '{TODAY}' + 60 END,"
        f" CASE WHEN s = 1 AND k % 3 = 0 THEN 'paid' ELSE 'due' END,"
        f" CASE WHEN s = 1 AND k % 3 = 0 THEN 30000 ELSE 0 END, 0, {ts}, {ts}"
        f" FROM generate_series(5, {n}, 5) k, generate_series(1, 2) s",
        f"INSERT INTO projects (id, code, name, order_id, pm_id, status, budget, created_at,"
        f" updated_at) SELECT k, 'PRJ-' || k, '项目' || k, k, {pm}, 'active', 0, {ts}, {ts}"
        f" FROM generate_series(5, {n}, 5) k",
        f"INSERT INTO tasks (project_id, title, owner_id, status, due_date, created_at,"
        f" updated_at) SELECT k, '任务' || t, k % {s} + 1, CASE WHEN t = 1 THEN 'done'"
        f" ELSE 'todo' END, DATE '{TODAY}' + t * 7, {ts}, {ts}"
        f" FROM generate_series(5, {n}, 5) k, generate_series(1, 3) t",
        f"INSERT INTO milestones (project_id, sequence, name, due_date, status, created_at,"
        f" updated_at) SELECT k, t, CASE t WHEN 1 THEN '上线' ELSE '验收' END,"
        f" DATE '{TODAY}' + t * 30, 'pending', {ts}, {ts}"
        f" FROM generate_series(5, {n}, 5) k, generate_series(1, 2) t",
        f"INSERT INTO approval_requests (id, order_id, flow_id, status, steps_snapshot,"
        f" current_step, step_started_at, submitted_by_id, version, created_at, updated_at)"
        f' SELECT k, k, 1, \'pending\', \'[{{"sequence": 1, "name": "销售经理",'
        f' "mode": "any"}}]\', 1, {ts}, k % {s} + 1, 1, {ts}, {ts}'
        f" FROM generate_series(3, {n}, 10) k",
        f"INSERT INTO approval_assignments (request_id, step_sequence, approver_id, status,"
        f" created_at) SELECT k, 1, {s} + (k % {s}) % {m} + 1, 'pending', {ts}"
        f" FROM generate_series(3, {n}, 10) k",
        # The timeline: five entries per order.
        f"INSERT INTO activities (kind, actor_id, body, data, internal, order_id, customer_id,"
        f" created_at) SELECT 'progress', k % {s} + 1, '进展记录', '{{}}', true, k,"
        f" (k::bigint * 7919) % {c} + 1, {ts} + e * INTERVAL '1 day'"
        f" FROM generate_series(1, {n}) k, generate_series(1, 5) e",
    ]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def timed(rt: object, user: str, content: str) -> float:
    event = TextMessage(
        channel="app",
        user_id=user,
        create_time=int(time.time()),
        content=content,
        msg_id=uuid.uuid4().hex,
    )
    started = time.perf_counter()
    reply = router.dispatch(event, rt)  # type: ignore[arg-type]
    elapsed = (time.perf_counter() - started) * 1000
    if not isinstance(reply, CardReply | TextReply | MarkdownReply):
        raise SystemExit(f"no reply to {content!r}")
    if isinstance(reply, TextReply) and "系统繁忙" in reply.content:
        raise SystemExit(f"{content!r} failed: {reply.content}")
    return elapsed


@dataclass
class Loaded:
    shape: Shape
    schema: str
    rt: Runtime
    timeline: int
    load_s: float
    rng: random.Random
    lookups: list[float] = field(default_factory=list)
    overdue: list[float] = field(default_factory=list)

    def sample(self) -> None:
        """One `查` by the order's owner and one `逾期` by a sales person."""
        install(self.rt)  # services read the company time zone through the runtime
        oid = self.rng.randint(1, self.shape.orders)
        owner = f"s{self.shape.owner_of(oid)}"
        self.lookups.append(timed(self.rt, owner, f"查 {number_of(oid)}"))
        self.overdue.append(timed(self.rt, f"s{self.rng.randint(1, self.shape.sales)}", "逾期"))

    def results(self) -> dict[str, float]:
        out: dict[str, float] = {
            "orders": self.shape.orders,
            "timeline": self.timeline,
            "load_s": self.load_s,
        }
        for name, values in (("query", self.lookups), ("overdue", self.overdue)):
            out[f"{name}_p50"] = statistics.median(values)
            out[f"{name}_p95"] = percentile(values, 95)
            out[f"{name}_p99"] = percentile(values, 99)
        return out


def load(url: str, orders: int) -> Loaded:
    sh = Shape(orders)
    schema = f"bench_cmd_{uuid.uuid4().hex[:8]}"
    with create_engine(url, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in url else "?"
    schema_url = f"{url}{sep}options=-csearch_path%3D{schema}"
    upgrade(schema_url)
    engine = create_engine(schema_url)
    started = time.perf_counter()
    with engine.begin() as conn:
        # Bulk load the way a restore does: no FK triggers (the rows are consistent by
        # construction), secondary indexes built once at the end instead of row by row.
        conn.execute(text("SET session_replication_role = replica"))
        conn.execute(text("SET maintenance_work_mem = '256MB'"))
        indexes = conn.execute(
            text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = :s AND indexname"
                " NOT IN (SELECT conname FROM pg_constraint"
                " WHERE connamespace = CAST(:s AS regnamespace))"
            ),
            {"s": schema},
        ).all()
        for name, _ in indexes:
            conn.execute(text(f'DROP INDEX "{schema}"."{name}"'))
        for sql in seed_sql(sh):
            conn.execute(text(sql))
        for _, definition in indexes:
            conn.execute(text(definition))
    vacuum_analyze(engine, schema)
    with engine.connect() as conn:
        timeline_rows = conn.execute(text("SELECT count(*) FROM activities")).scalar_one()
    load_s = time.perf_counter() - started
    engine.dispose()
    print(f"[{orders:,} orders] loaded in {load_s:.0f}s ({timeline_rows:,} timeline rows)")
    rt = build_runtime(load_settings({"DATABASE_URL": schema_url, "JOBS_SYNC": "true"}))
    return Loaded(sh, schema, rt, timeline_rows, load_s, random.Random(orders))


def vacuum_analyze(engine: Engine, schema: str) -> None:
    """VACUUM (ANALYZE) this schema's tables, as autovacuum does to a table in service: it sets
    the visibility map, without which no index-only scan skips the table (逾期 relies on them;
    a bulk load leaves the map empty). Only this schema's tables: a bare ANALYZE walks every
    schema of the database and deadlocks with other runs creating or dropping theirs."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        tables = conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": schema}
        ).scalars()
        for table in list(tables):
            conn.execute(text(f'VACUUM (ANALYZE) "{schema}"."{table}"'))


def drop(url: str, schema: str) -> None:
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def measure_all(url: str, sizes: list[int], runs: int) -> list[dict[str, float]]:
    """Load every size first, then sample them in turn, so that both see the same machine (a
    busy neighbour slows every size alike instead of skewing the ratio)."""
    loaded: list[Loaded] = []
    try:
        for size in sizes:
            loaded.append(load(url, size))
        with clock.frozen(NOW):
            for item in loaded:  # warm the pool, the mappers and the plan cache
                for _ in range(20):
                    item.sample()
                item.lookups.clear()
                item.overdue.clear()
            for _ in range(runs):
                for item in loaded:
                    item.sample()
        rows = [item.results() for item in loaded]
        for row in rows:
            print({k: round(v, 1) for k, v in row.items()}, flush=True)
        return rows
    finally:
        for item in loaded:
            item.rt.close()
            drop(url, item.schema)


def report(rows: list[dict[str, float]], runs: int, loadavg: tuple[float, float]) -> str:
    lines = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores (1-min load average"
        f" {loadavg[0]:.1f} at start, {loadavg[1]:.1f} at end), {runs} timed runs per command per"
        " size, sizes sampled in turn after 20 warm-up runs each; server-side `router.dispatch`:",
        "",
        "| orders | timeline rows | load | 查 p50 | 查 p95 | 查 p99"
        " | 逾期 p50 | 逾期 p95 | 逾期 p99 |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {int(r['orders']):,} | {int(r['timeline']):,} | {r['load_s']:.0f} s"
            f" | {r['query_p50']:.1f} ms | {r['query_p95']:.1f} ms | {r['query_p99']:.1f} ms"
            f" | {r['overdue_p50']:.1f} ms | {r['overdue_p95']:.1f} ms"
            f" | {r['overdue_p99']:.1f} ms |"
        )
    if len(rows) >= 2:
        small, big = rows[0], rows[-1]
        q = big["query_p50"] / small["query_p50"]
        o = big["overdue_p50"] / small["overdue_p50"]
        lines += [
            "",
            f"p50 ratio {int(big['orders']):,}/{int(small['orders']):,}: 查 {q:.2f},"
            f" 逾期 {o:.2f} (target <= 2); 查 p99 at {int(big['orders']):,}:"
            f" {big['query_p99']:.1f} ms (target < 50 ms).",
        ]
    return "\n".join(lines)


def record(section: str) -> None:
    path = ROOT / "bench" / "RESULTS.md"
    heading = "## bench/command.py — chat commands 查 and 逾期"
    existing = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    if heading not in existing:
        existing = (
            existing.rstrip("\n")
            + f"\n\n{heading}\n\nCommand: `.venv/bin/python -m bench.command`\n"
        )
        path.write_text(existing + "\n" + section + "\n", encoding="utf-8")
        return
    # Append under our own heading (before the next section, if any).
    before, _, after = existing.partition(heading)
    ours, sep, rest = after.partition("\n## ")
    updated = before + heading + ours.rstrip("\n") + "\n\n" + section + "\n"
    if sep:
        updated += "\n## " + rest
    path.write_text(updated, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    rows = measure_all(args.url, [int(size) for size in args.sizes.split(",")], args.runs)
    section = report(rows, args.runs, (load_before, os.getloadavg()[0]))
    print(section)
    if not args.no_record:
        record(section)


if __name__ == "__main__":
    main()
