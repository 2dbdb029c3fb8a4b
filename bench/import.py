"""Import at scale (issue 13): a generated messy workbook of customers and their orders imported
on PostgreSQL through the same engine as `orderdesk import`, timed, with the peak RSS.

The orders sheet has what real sheets have: a merged title row above the header, header
synonyms (订单号, 客户, 订单金额(元)), blank rows, stray and full-width spaces, amounts written
as 1.2万 / ¥12,000.00 / 12000元, customer codes in full-width letters. A second run of the same
file must change nothing (all unchanged). Targets: 100,000 orders < 60 s, peak RSS < 500 MB.

    .venv/bin/python -m bench.import --orders 100000 --customers 10000
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import resource
import tempfile
import time
import uuid
from pathlib import Path

import xlsxwriter
from sqlalchemy import create_engine, select, text

from bench.command import DEFAULT_URL, drop
from orderdesk.imports.service import make_kind, run_import
from orderdesk.migrations.run import upgrade
from orderdesk.models import BusinessLine, OrderType, Staff
from orderdesk.runtime import Runtime, build_runtime, install
from orderdesk.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
HEADING = "## bench/import.py — import 100,000 messy order rows with their customers"
FULL = str.maketrans(
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ",
)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _amount(rng: random.Random) -> tuple[str, str]:
    """A messy spelling and nothing else: each spells a whole number of yuan."""
    wan = rng.randint(1, 90)
    style = rng.randrange(4)
    if style == 0:
        return f"{wan / 10:g}万", "wan"
    if style == 1:
        return f"¥{wan * 1000:,.2f}", "yen"
    if style == 2:
        return f"{wan * 1000}元", "yuan"
    return f" {wan * 1000} ", "plain"


def write_sheets(folder: Path, customers: int, orders: int, seed: int = 13) -> tuple[Path, Path]:
    rng = random.Random(seed)
    cust = folder / "customers.xlsx"
    book = xlsxwriter.Workbook(str(cust), {"constant_memory": True})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["客户代码", "公司名称", "负责人"])
    for i in range(1, customers + 1):
        sheet.write_row(i, 0, [f"C{i:06d}", f"客户{i:06d}科技有限公司", f"s{i % 20}"])
    book.close()
    path = folder / "orders.xlsx"
    # Shared strings, the way Excel saves (constant_memory would write inline strings, which
    # openpyxl reads several times slower than any sheet a person would send).
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    sheet.merge_range(0, 0, 0, 6, "2025 年订单台账(导出自旧系统)")
    sheet.write_row(1, 0, ["订单号", "客户 编码", "类型", "销售", "状态", "订单金额(元)", "备注"])
    row = 2
    for i in range(1, orders + 1):
        if i % 1000 == 0:
            row += 1  # a blank row now and then
        code = f"C{rng.randint(1, customers):06d}"
        if i % 7 == 0:
            code = code.translate(FULL)  # typed with a Chinese input method
        amount, _ = _amount(rng)
        status = "执行中" if i % 3 else "已关闭"
        cells = [f" SO-2025-{i:06d}\u3000", code, "实施服务", f"s{i % 20}", status, amount, ""]
        sheet.write_row(row, 0, cells)
        row += 1
    book.close()
    return cust, path


def seed(url: str) -> tuple[str, str]:
    schema = f"bench_imp_{uuid.uuid4().hex[:8]}"
    with create_engine(url, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in url else "?"
    schema_url = f"{url}{sep}options=-csearch_path%3D{schema}"
    upgrade(schema_url)
    return schema, schema_url


def staff_and_types(rt: Runtime) -> None:
    with rt.db.transaction() as session:
        admin = Staff(userid="admin", name="管理员")
        admin.add_role("admin")
        session.add(admin)
        for i in range(20):
            person = Staff(userid=f"s{i}", name=f"销售{i}")
            person.add_role("sales")
            session.add(person)
        line = BusinessLine(code="it", name="IT 实施")
        session.add_all([line, OrderType(code="impl", name="实施服务", business_line=line)])


def generate(folder: Path, customers: int, orders: int, lines: list[str]) -> tuple[Path, Path]:
    started = time.perf_counter()
    # In a child process: the generator's memory is not the importer's peak RSS.
    child = multiprocessing.get_context("spawn").Process(
        target=write_sheets, args=(folder, customers, orders)
    )
    child.start()
    child.join()
    cust, sheet = folder / "customers.xlsx", folder / "orders.xlsx"
    lines.append(
        f"  - generated the workbooks in {time.perf_counter() - started:.1f} s"
        f" (orders.xlsx {sheet.stat().st_size / 1e6:.1f} MB);"
        f" RSS before importing {_rss_mb():.0f} MB"
    )
    return cust, sheet


def timed_import(rt: Runtime, label: str, kind: str, path: Path, lines: list[str]) -> None:
    started = time.perf_counter()
    with rt.db.transaction() as session:
        actor = session.scalars(select(Staff).where(Staff.userid == "admin")).one()
        s = run_import(session, actor=actor, kind=make_kind(session, actor, kind), path=path)
    took = time.perf_counter() - started
    rows = s.created + s.updated + s.unchanged + s.refused
    lines.append(
        f"  - {label}: {rows:,} rows in {took:.1f} s ({rows / took:,.0f} rows/s):"
        f" {s.line()}; peak RSS so far {_rss_mb():.0f} MB"
    )
    assert s.refused == 0, s.errors[:5]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--orders", type=int, default=100000)
    parser.add_argument("--customers", type=int, default=10000)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    load0 = os.getloadavg()[0]
    schema, schema_url = seed(args.url)
    rt = install(build_runtime(load_settings({"DATABASE_URL": schema_url, "JOBS_SYNC": "true"})))
    lines = [
        f"- Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, 2 cores, "
        f"`.venv/bin/python -m bench.import --orders {args.orders} --customers "
        f"{args.customers}`, 1-min load average {load0:.1f} at start:"
    ]
    try:
        staff_and_types(rt)
        with tempfile.TemporaryDirectory() as tmp:
            cust, orders = generate(Path(tmp), args.customers, args.orders, lines)
            timed_import(rt, "customers", "customers", cust, lines)
            timed_import(rt, "orders", "orders", orders, lines)
            timed_import(rt, "orders again (idempotent)", "orders", orders, lines)
    finally:
        rt.close()
        drop(args.url, schema)
    lines.append(f"  - 1-min load average at the end {os.getloadavg()[0]:.1f}")
    text_out = "\n".join(lines)
    print(text_out)
    if not args.no_record:
        record(text_out)


def record(section: str) -> None:
    path = ROOT / "bench" / "RESULTS.md"
    existing = path.read_text(encoding="utf-8")
    if HEADING not in existing:
        path.write_text(
            existing.rstrip("\n") + f"\n\n{HEADING}\n\nCommand: `.venv/bin/python -m bench.import`"
            "\n\n" + section + "\n",
            encoding="utf-8",
        )
        return
    before, _, after = existing.partition(HEADING)
    ours, sep, rest = after.partition("\n## ")
    updated = before + HEADING + ours.rstrip("\n") + "\n" + section + "\n"
    if sep:
        updated += "\n## " + rest
    path.write_text(updated, encoding="utf-8")


if __name__ == "__main__":
    main()
