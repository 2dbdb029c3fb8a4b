"""Charts (issue 13): PNG and SVG that open and carry the CJK title as real glyphs of the
packaged font, not tofu (the .notdef box a font without the glyphs would draw)."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font
from noto_cjk_sans_otc import FONT_PATH
from PIL import Image

from orderdesk.core.errors import ValidationFailed
from orderdesk.reports import charts
from orderdesk.reports.aging import BUCKETS
from orderdesk.reports.table import Table

TITLE = "应收账龄(2026-06-30)"
CJK = [ch for ch in TITLE if ord(ch) > 0x2E80]


def _aging_table() -> Table:
    rows = [
        {
            "label": f"客户{i}",
            **{k: Decimal(10000 * i + n) for n, (k, _t, _b) in enumerate(BUCKETS)},
        }
        for i in range(1, 4)
    ]
    return Table("ar-aging", TITLE, [], rows)


def _glyph_ids(svg: str) -> set[str]:
    return set(re.findall(r'<path id="([^"]+)"', svg))


def test_svg_title_is_drawn_with_the_packaged_cjk_glyphs() -> None:
    svg = charts.render(_aging_table(), "svg").decode()
    font = FT2Font(str(FONT_PATH))
    ids = _glyph_ids(svg)
    for ch in CJK:
        gid = font.get_char_index(ord(ch))
        assert gid != 0, ch  # the packaged font has the glyph
        assert f"{font.postscript_name}-{gid:x}" in ids, ch  # and the chart drew it as a path
    # The same check tells tofu apart: matplotlib's own font lacks these glyphs.
    dejavu = FT2Font(font_manager.findfont("DejaVu Sans", fallback_to_default=False))
    assert all(dejavu.get_char_index(ord(ch)) == 0 for ch in CJK)
    assert "<text" not in svg  # text as paths: a browser without the font shows the same


def test_png_opens_and_differs_from_a_render_without_the_cjk_title() -> None:
    table = _aging_table()
    png = charts.render(table)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (800, 450)
    # Same figures, title in Latin only: the pixels differ where the CJK glyphs are drawn.
    plain = charts.render(Table("ar-aging", "AR (2026-06-30)", [], table.rows))
    assert plain != png


def test_line_colours_are_stable_and_unclassified_is_grey() -> None:
    order = ["IT 实施", "管理咨询", "品牌设计"]
    assert charts.line_colour("管理咨询", order) == charts.line_colour("管理咨询", order)
    assert len({charts.line_colour(n, order) for n in order}) == 3
    assert charts.line_colour("未分类", order) == charts.GREY
    assert charts._wan(120000) == "¥12万"


def test_unknown_format_or_report_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        charts.render(_aging_table(), "gif")
    with pytest.raises(ValidationFailed):
        charts.render(Table("planets", "x", [], []))
