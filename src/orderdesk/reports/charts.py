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


RENDERERS = {"ar-aging": _aging, "revenue": _revenue}


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
