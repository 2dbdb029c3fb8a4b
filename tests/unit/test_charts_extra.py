"""Charts of the reports added in issue 13, part 2 (profitability, utilisation, collection,
pipeline, leaderboard): each renders a PNG that opens and an SVG whose CJK title is drawn with
the packaged font's glyphs (the rendered text path, as tests/unit/test_charts.py checks)."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from typing import Any

import pytest
from matplotlib.ft2font import FT2Font
from noto_cjk_sans_otc import FONT_PATH
from PIL import Image

from orderdesk.reports import charts
from orderdesk.reports.table import Table

D = Decimal


def _tables() -> dict[str, Table]:
    profit = [
        {
            "code": f"PRJ-{i}",
            "label": f"项目{i}",
            "revenue": D(100000 * i),
            "labour_cost": D(30000 * i),
            "expenses": D(5000),
            "margin": D(65000 * i - 5000),
            "margin_rate": D("0.6") if i > 1 else None,
        }
        for i in range(1, 4)
    ]
    util = [{"label": f"员工{i}", "utilisation": D("0.3") * i} for i in range(1, 5)]
    coll = [
        {
            "month": f"2026-{m:02d}",
            "due": D(50000),
            "collected": D(40000 + m),
            "collection_rate": D("0.8"),
        }
        for m in (10, 11, 12)
    ]
    pipe = [{"label": s, "expected_amount": D(10000 * n)} for n, s in enumerate(("线索", "赢单"))]
    board = [{"label": "张三", "bookings": D(90000), "collected": D(30000)}]
    return {
        "profitability": Table("profitability", "项目利润(按项目)", [], profit),
        "utilisation": Table("utilisation", "工时利用率(2026-11)", [], util),
        "collection": Table("collection", "回款率与 DSO(2026Q4)", [], coll),
        "pipeline": Table("pipeline", "销售漏斗", [], pipe),
        "leaderboard": Table("leaderboard", "销售排行榜(2026-11)", [], board),
    }


@pytest.mark.parametrize("name", list(_tables()))
def test_each_chart_opens_and_draws_its_cjk_title(name: str) -> None:
    table = _tables()[name]
    image = Image.open(io.BytesIO(charts.render(table, "png")))
    assert image.format == "PNG" and image.size == (800, 450)
    svg = charts.render(table, "svg").decode()
    ids: set[Any] = set(re.findall(r'<path id="([^"]+)"', svg))
    font = FT2Font(str(FONT_PATH))
    for ch in (c for c in table.title if ord(c) > 0x2E80):
        gid = font.get_char_index(ord(ch))
        assert gid != 0 and f"{font.postscript_name}-{gid:x}" in ids, ch


def test_empty_tables_still_render() -> None:
    for table in _tables().values():
        empty = Table(table.name, table.title, [], [])
        assert charts.render(empty, "png").startswith(b"\x89PNG")
