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


def collection_text(table: Table) -> str:
    t = table.totals
    dso = "-" if t["dso"] is None else f"{t['dso']} 天"
    return f"期末应收余额 {money(t['receivable'])},DSO {dso}"


def profitability_text(table: Table) -> str:
    t = table.totals
    if not table.rows:
        return f"**{table.title}**\n没有可查看的项目"
    lines = [
        f"**{table.title}**",
        f"合同额(不含税){money(t['revenue'])} − 人工 {money(t['labour_cost'])} − 费用 "
        f"{money(t['expenses'])} = 毛利 {money(t['margin'])}(毛利率 {_rate(t['margin_rate'])})",
    ]
    for r in table.rows[:TOP]:
        hours = f"{r['logged_hours']}"
        if r["budget_hours"] is not None:
            hours += f"/{r['budget_hours']}"
        lines.append(
            f"- {r['code'] or r['label']} 毛利 {money(r['margin'])}"
            f"({_rate(r['margin_rate'])}),工时 {hours}"
        )
    if len(table.rows) > TOP:
        lines.append(f"…共 {len(table.rows)} 个项目")
    return "\n".join(lines)


def utilisation_text(table: Table) -> str:
    t = table.totals
    if not table.rows:
        return f"**{table.title}**\n没有可查看的人员"
    lines = [
        f"**{table.title}**",
        f"合计 {t['logged']} / {t['available']} 小时,利用率 {_rate(t['utilisation'])}",
    ]
    ranked = sorted(table.rows, key=lambda r: -(r["utilisation"] or 0))
    lines += [
        f"- {r['label']} {r['logged']} 小时 {_rate(r['utilisation'])}" for r in ranked[: TOP * 2]
    ]
    return "\n".join(lines)
