"""Chat texts of the reports: a short summary of the same table the API and the chart show."""

from __future__ import annotations

from decimal import Decimal

from orderdesk.core.formatting import money
from orderdesk.reports.aging import BUCKETS
from orderdesk.reports.table import Table

TOP = 5


def _rate(value: Decimal | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def aging_text(table: Table) -> str:
    totals = table.totals
    if not table.rows:
        return f"**{table.title}**\n没有未收的应收款"
    lines = [f"**{table.title}**", f"合计 {money(totals['total'])}"]
    lines += [f"- {title}:{money(totals[key])}" for key, title, _b in BUCKETS if totals[key]]
    lines.append("金额最大的客户:")
    lines += [f"{n}. {r['label']} {money(r['total'])}" for n, r in enumerate(table.rows[:TOP], 1)]
    return "\n".join(lines)


def revenue_text(table: Table) -> str:
    t = table.totals
    lines = [
        f"**{table.title}**",
        f"签约 {money(t['bookings'])} · 开票 {money(t['invoiced'])} · 回款 {money(t['collected'])}",
        f"应收 {money(t['due'])},回款率 {_rate(t['collection_rate'])}",
    ]
    by_line: dict[str, Decimal] = {}
    for row in table.rows:
        by_line[row["business_line"]] = (
            by_line.get(row["business_line"], Decimal(0)) + row["bookings"]
        )
    lines += [f"- {name} 签约 {money(v)}" for name, v in sorted(by_line.items()) if v]
    return "\n".join(lines)
