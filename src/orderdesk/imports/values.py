"""Read the cells of real sheets: amounts like `1.2万`, `¥12,000.00`, `12000元`; dates as Excel
serials, `2026/1/5`, `2026年1月5日`, `2026.01.05`; full-width characters and stray spaces.

Each reader returns the value or raises CellError with a Chinese reason; what could mean two
things (`1.234,56`, `01/02/2026`) is refused, not guessed.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from orderdesk.core.parsing import day_in_range

EXCEL_EPOCH = date(1899, 12, 30)  # serial 1 = 1900-01-01 (Excel's 1900 leap-year bug included)
CENT = Decimal("0.01")
_UNITS = {"万": Decimal(10000), "亿": Decimal(100000000), "千": Decimal(1000)}
_AMOUNT = re.compile(r"^(?P<num>\d+(?:,\d{3})*(?:\.\d+)?|\d*\.\d+)(?P<unit>[千万亿]?)$")
_YMD = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


class CellError(ValueError):
    """A cell that cannot be read; the message is Chinese and names what was found."""


def clean(raw: Any) -> str:
    """Full-width to half-width (NFKC), every kind of space removed at the ends."""
    if raw is None:
        return ""
    return unicodedata.normalize("NFKC", str(raw)).strip()


def read_amount(raw: Any) -> Decimal:
    """A non-negative amount in yuan, to the cent."""
    if isinstance(raw, bool):
        raise CellError(f"金额无法识别:{raw}")
    if isinstance(raw, int | Decimal):
        value = Decimal(raw)
    elif isinstance(raw, float):
        value = Decimal(repr(raw))  # the digits Excel showed, not the binary expansion
    else:
        text = re.sub(r"\s+", "", clean(raw))
        text = text.removeprefix("¥").removeprefix("￥").removeprefix("RMB").removesuffix("元")
        text = text.removesuffix("人民币")
        match = _AMOUNT.match(text)
        if not match:
            raise CellError(f"金额无法识别:「{clean(raw)}」(例:12000、¥12,000.00、1.2万)")
        try:
            value = Decimal(match["num"].replace(",", "")) * _UNITS.get(match["unit"], 1)
        except InvalidOperation as exc:
            raise CellError(f"金额无法识别:「{clean(raw)}」") from exc
    if value < 0:
        raise CellError(f"金额不能为负:{value}")
    if value != value.quantize(CENT, rounding=ROUND_HALF_UP):
        raise CellError(f"金额最多两位小数:{value}")
    return value.quantize(CENT)


def read_date(raw: Any) -> date:
    """A calendar day from a date cell, an Excel serial or the usual written forms."""
    if isinstance(raw, datetime):
        day = raw.date()
    elif isinstance(raw, date):
        day = raw
    elif isinstance(raw, int | float) and not isinstance(raw, bool):
        if raw != int(raw):
            raise CellError(f"日期不能带时间:{raw}")
        day = EXCEL_EPOCH + timedelta(days=int(raw))
    else:
        text = clean(raw)
        if re.fullmatch(r"\d{5}", text):  # a serial that came through as text (CSV)
            return read_date(int(text))
        match = _YMD.match(text)
        if not match:
            raise CellError(f"日期无法识别:「{text}」(例:2026-01-05、2026/1/5、2026年1月5日)")
        try:
            day = date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError as exc:
            raise CellError(f"日期不存在:「{text}」") from exc
    if not day_in_range(day):
        raise CellError(f"日期超出 1990 至 2100 年:{day.isoformat()}")
    return day
