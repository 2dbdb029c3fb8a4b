"""Charts of the reports: PNG for chat, SVG for pages. matplotlib's Agg canvas, no pyplot (no
global figure state, safe in web and worker threads).

Chinese text: the font comes from the `noto-cjk-sans-otc` package (Noto Sans CJK, OFL), so a
fresh machine without any system font renders the titles; SVG text is written as paths
(`svg.fonttype = path`), so a browser without the font shows the same glyphs.
"""

from __future__ import annotations

import io
from decimal import Decimal
from functools import cache
from typing import Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, fontManager
from matplotlib.ticker import FuncFormatter
from noto_cjk_sans_otc import FONT_PATH

from orderdesk.core.errors import ValidationFailed
from orderdesk.reports.aging import BUCKETS
from orderdesk.reports.table import Table

# Business lines keep their colour in every chart: the n-th line (by id) takes the n-th colour.
PALETTE = ("#3B82F6", "#F59E0B", "#10B981", "#8B5CF6", "#EF4444", "#06B6D4", "#EC4899")
GREY = "#9CA3AF"
# Aging buckets: from calm to alarming.
AGING_COLOURS = ("#93C5FD", "#FCD34D", "#FDBA74", "#FB923C", "#F87171", "#B91C1C")
TOP_GROUPS = 12  # more bars than this is a table, not a chart


@cache
def cjk_font() -> FontProperties:
    """The packaged CJK font, registered once with matplotlib's font manager."""
    path = str(FONT_PATH)
    fontManager.addfont(path)
    return FontProperties(fname=path)


def line_colour(name: str, line_order: list[str]) -> str:
    if name not in line_order:
        return GREY  # 未分类
    return PALETTE[line_order.index(name) % len(PALETTE)]


def _wan(value: float, _pos: Any = None) -> str:
    """Axis labels in 万 (10,000 yuan): what people here read amounts in."""
    return f"¥{value / 10000:,.0f}万" if abs(value) >= 10000 or value == 0 else f"¥{value:,.0f}"


def _figure(title: str) -> tuple[Figure, Any]:
    fig = Figure(figsize=(8, 4.5), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_title(title, loc="left", fontsize=14)
    for side in ("top", "right"):  # no chart junk
        ax.spines[side].set_visible(False)
    return fig, ax


def _aging(table: Table) -> Figure:
    fig, ax = _figure(table.title)
    rows = table.rows[:TOP_GROUPS][::-1]  # largest on top
    labels = [str(r["label"]) for r in rows]
    left = [0.0] * len(rows)
    for (key, title, _bound), colour in zip(BUCKETS, AGING_COLOURS, strict=True):
        values = [float(r[key]) for r in rows]
        ax.barh(labels, values, left=left, label=title, color=colour)
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.xaxis.set_major_formatter(FuncFormatter(_wan))
    fig.legend(ncols=len(BUCKETS), loc="outside lower center", frameon=False, fontsize=8)
    return fig


def _revenue(table: Table) -> Figure:
    fig, ax = _figure(table.title)
    months = sorted({str(r["month"]) for r in table.rows})
    lines = sorted({str(r["business_line"]) for r in table.rows})
    bottom = [0.0] * len(months)
    for line in lines:
        by_month = {r["month"]: r["bookings"] for r in table.rows if r["business_line"] == line}
        values = [float(by_month.get(m, Decimal(0))) for m in months]
        ax.bar(
            months,
            values,
            bottom=bottom,
            label=f"{line} 签约",
            color=line_colour(line, table.meta.get("line_order", [])),
        )
        bottom = [a + b for a, b in zip(bottom, values, strict=True)]
    collected = [
        float(sum((r["collected"] for r in table.rows if r["month"] == m), Decimal(0)))
        for m in months
    ]
    ax.plot(months, collected, color="#111827", marker="o", label="回款")
    ax.yaxis.set_major_formatter(FuncFormatter(_wan))
    fig.legend(ncols=4, loc="outside lower center", frameon=False, fontsize=8)
    return fig


def _profitability(table: Table) -> Figure:
    """Per project (or line): contract revenue against labour + expenses, margin % on top."""
    fig, ax = _figure(table.title)
    rows = table.rows[:TOP_GROUPS]
    labels = [str(r["code"] or r["label"]) for r in rows]
    xs = list(range(len(rows)))
    width = 0.38
    ax.bar(
        [x - width / 2 for x in xs],
        [float(r["revenue"]) for r in rows],
        width,
        label="合同额(不含税)",
        color=PALETTE[0],
    )
    labour = [float(r["labour_cost"]) for r in rows]
    ax.bar([x + width / 2 for x in xs], labour, width, label="人工成本", color=PALETTE[1])
    ax.bar(
        [x + width / 2 for x in xs],
        [float(r["expenses"]) for r in rows],
        width,
        bottom=labour,
        label="项目费用",
        color=PALETTE[4],
    )
    for x, r in zip(xs, rows, strict=True):
        rate = r["margin_rate"]
        text = "-" if rate is None else f"毛利 {float(rate) * 100:.0f}%"
        ax.annotate(text, (x, float(r["revenue"])), ha="center", va="bottom", fontsize=9)
    ax.set_xticks(xs, labels)
    ax.yaxis.set_major_formatter(FuncFormatter(_wan))
    fig.legend(ncols=3, loc="outside lower center", frameon=False, fontsize=8)
    return fig


def _utilisation(table: Table) -> Figure:
    """Utilisation per person (or department) as %, with the 100 % line."""
    fig, ax = _figure(table.title)
    rows = table.rows[: TOP_GROUPS * 2][::-1]
    values = [float(r["utilisation"] or 0) * 100 for r in rows]
    colours = [PALETTE[2] if v <= 100 else PALETTE[4] for v in values]
    ax.barh([str(r["label"]) for r in rows], values, color=colours)
    ax.axvline(100, color=GREY, linestyle="--", linewidth=1)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.0f}%"))
    return fig


def _collection(table: Table) -> Figure:
    """Due and collected per month as bars; the collection rate as a line (right axis)."""
    fig, ax = _figure(table.title)
    months = [str(r["month"]) for r in table.rows]
    xs = list(range(len(months)))
    width = 0.38
    ax.bar(
        [x - width / 2 for x in xs],
        [float(r["due"]) for r in table.rows],
        width,
        label="应收额",
        color=GREY,
    )
    ax.bar(
        [x + width / 2 for x in xs],
        [float(r["collected"]) for r in table.rows],
        width,
        label="回款额",
        color=PALETTE[2],
    )
    ax.set_xticks(xs, months)
    ax.yaxis.set_major_formatter(FuncFormatter(_wan))
    rate_ax = ax.twinx()
    rates = [float(r["collection_rate"] or 0) * 100 for r in table.rows]
    rate_ax.plot(xs, rates, color="#111827", marker="o", label="回款率")
    rate_ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.0f}%"))
    rate_ax.spines["top"].set_visible(False)
    fig.legend(ncols=3, loc="outside lower center", frameon=False, fontsize=8)
    return fig


def _ranked(table: Table, keys: tuple[tuple[str, str], ...]) -> Figure:
    fig, ax = _figure(table.title)
    rows = table.rows[:TOP_GROUPS][::-1]
    labels = [str(r["label"]) for r in rows]
    height = 0.8 / len(keys)
    for n, (key, title) in enumerate(keys):
        ys = [y + n * height for y in range(len(rows))]
        ax.barh(ys, [float(r[key]) for r in rows], height, label=title, color=PALETTE[n])
    ax.set_yticks([y + height * (len(keys) - 1) / 2 for y in range(len(rows))], labels)
    ax.xaxis.set_major_formatter(FuncFormatter(_wan))
    fig.legend(ncols=len(keys), loc="outside lower center", frameon=False, fontsize=8)
    return fig


def _pipeline(table: Table) -> Figure:
    return _ranked(table, (("expected_amount", "预计金额"),))


def _leaderboard(table: Table) -> Figure:
    return _ranked(table, (("bookings", "签约额"), ("collected", "回款额")))


RENDERERS = {
    "ar-aging": _aging,
    "revenue": _revenue,
    "profitability": _profitability,
    "utilisation": _utilisation,
    "collection": _collection,
    "pipeline": _pipeline,
    "leaderboard": _leaderboard,
}


def render(table: Table, fmt: str = "png") -> bytes:
    """The chart of `table` as PNG or SVG bytes."""
    if fmt not in ("png", "svg"):
        raise ValidationFailed("图表格式只能是 png 或 svg")
    renderer = RENDERERS.get(table.name)
    if renderer is None:
        raise ValidationFailed(f"报表 {table.name} 没有图表")
    family = cjk_font().get_name()
    with matplotlib.rc_context({"font.family": [family, "DejaVu Sans"], "svg.fonttype": "path"}):
        fig = renderer(table)
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt)
    return buf.getvalue()
