"""Bounded parsing of numbers and dates typed by people (API bodies, custom fields, chat).

Python's `Decimal` and `date.fromisoformat` accept far more than a person means: `Decimal`
builds any exponent (`1e999999999` tries to allocate a gigabyte once formatted) and reads
full-width and other Unicode digits (`"１００"`), `fromisoformat` reads `0001-01-01`, `20260101`
and week dates (`2026W011`). Everything typed goes through here instead: ASCII digits only,
bounded digits and exponent, one date format, years 1990 to 2100.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

# Money columns are Numeric(18, 2): 16 integer digits. Fractions beyond 8 digits mean nothing
# to anybody (hours, rates and quantities use at most 4).
MAX_INTEGER_DIGITS = 16
MAX_FRACTION_DIGITS = 8
_NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,2})?", re.ASCII)
_MAX_NUMBER_TEXT = 48
_LIMIT = Decimal(10) ** MAX_INTEGER_DIGITS

NUMBER_RULE_ZH = f"最多 {MAX_INTEGER_DIGITS} 位整数、{MAX_FRACTION_DIGITS} 位小数"

MIN_DAY = date(1990, 1, 1)
MAX_DAY = date(2100, 12, 31)
_DAY_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
DAY_RULE_ZH = "格式 YYYY-MM-DD,1990 至 2100 年"

Problem = Literal["not_a_number", "out_of_range"]


def _in_range(value: Decimal) -> bool:
    if not value.is_finite() or abs(value) >= _LIMIT:
        return False
    exponent = value.normalize().as_tuple().exponent
    return isinstance(exponent, int) and exponent >= -MAX_FRACTION_DIGITS


def read_decimal(raw: Any) -> tuple[Decimal | None, Problem | None]:
    """(value, None), or (None, why): not a number, or a number outside the bounds above.

    Accepts an int, a Decimal, a float (read from its shortest text) or text with ASCII digits,
    optional thousands commas and a short exponent ("1e3")."""
    if isinstance(raw, bool):
        return None, "not_a_number"
    if isinstance(raw, float):
        raw = repr(raw)
    if isinstance(raw, int):
        if abs(raw) >= _LIMIT:  # compared as int: no huge Decimal is ever built
            return None, "out_of_range"
        return Decimal(raw), None
    if isinstance(raw, Decimal):
        return (raw, None) if _in_range(raw) else (None, "out_of_range")
    if not isinstance(raw, str):
        return None, "not_a_number"
    text = raw.strip().replace(",", "")
    if len(text) > _MAX_NUMBER_TEXT or not _NUMBER_RE.fullmatch(text):
        looks_numeric = bool(re.fullmatch(r"[+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?", text, re.ASCII))
        return None, "out_of_range" if looks_numeric else "not_a_number"
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None, "not_a_number"
    return (value, None) if _in_range(value) else (None, "out_of_range")


def parse_decimal(raw: Any) -> Decimal | None:
    """The bounded number in `raw`, or None (not a number, or out of range)."""
    return read_decimal(raw)[0]


def parse_day(raw: Any) -> date | None:
    """A calendar day from `YYYY-MM-DD` (or a date) between 1990 and 2100, else None."""
    if isinstance(raw, date):
        day = raw
    elif isinstance(raw, str) and _DAY_RE.fullmatch(raw.strip()):
        try:
            day = date.fromisoformat(raw.strip())
        except ValueError:
            return None
    else:
        return None
    return day if day_in_range(day) else None


def day_in_range(day: date) -> bool:
    return MIN_DAY <= day <= MAX_DAY
