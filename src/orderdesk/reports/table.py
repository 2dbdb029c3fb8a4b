"""The shape every report returns: named columns (with Chinese titles) and rows of values."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Column:
    key: str
    title: str  # Chinese, what a spreadsheet header and a chart legend show
    money: bool = False


@dataclass
class Table:
    name: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)
    totals: dict[str, Any] = field(default_factory=dict)
    # What a renderer needs besides the figures (e.g. every business line in id order).
    meta: dict[str, Any] = field(default_factory=dict)

    def column_total(self, key: str) -> Decimal:
        return sum((Decimal(r[key]) for r in self.rows), Decimal("0.00"))
