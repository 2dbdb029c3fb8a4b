"""Periods in report parameters (`2026-11`, `2026Q4`, `2026`) and the SQL month of a date column."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, func
from sqlalchemy.orm import Session

from orderdesk.core.errors import ValidationFailed

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})\s*[Qq]([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")


def _month_end(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1)


def parse_period(text: str) -> tuple[date, date]:
    """[start, end) of a month `2026-11`, a quarter `2026Q4` or a year `2026`."""
    text = text.strip()
    if m := _MONTH.match(text):
        year, month = int(m[1]), int(m[2])
        if 1 <= month <= 12:
            return date(year, month, 1), _month_end(year, month)
    elif m := _QUARTER.match(text):
        year, q = int(m[1]), int(m[2])
        return date(year, 3 * q - 2, 1), _month_end(year, 3 * q)
    elif m := _YEAR.match(text):
        return date(int(m[1]), 1, 1), date(int(m[1]) + 1, 1, 1)
    raise ValidationFailed(f"无法识别的期间「{text}」:请写 2026-11、2026Q4 或 2026")


def month_of(session: Session, col: Any) -> ColumnElement[str]:
    """'YYYY-MM' of a DATE column, in SQL (grouping happens in the database, not in Python)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(col, "YYYY-MM")
    return func.strftime("%Y-%m", col)
