"""Write a header and an iterator of rows as CSV (UTF-8 with BOM) or xlsx (constant_memory)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter

FORMATS = ("csv", "xlsx")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)  # Decimal keeps its exact digits


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    # utf-8-sig writes the BOM Excel needs to read Chinese headers as UTF-8.
    count = 0
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(header)
        for row in rows:
            out.writerow([_text(v) for v in row])
            count += 1
    return count


def write_xlsx(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """constant_memory: each row is flushed to the temp file as written, rows in order."""
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet("导出")
    bold = book.add_format({"bold": True})
    money = book.add_format({"num_format": "#,##0.00"})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, header, bold)
    count = 0
    for count, row in enumerate(rows, start=1):
        for col, value in enumerate(row):
            if isinstance(value, Decimal):
                # Excel keeps doubles; 15 significant digits hold any amount to the cent.
                sheet.write_number(count, col, float(value), money)
            elif isinstance(value, date):
                sheet.write_datetime(count, col, value, day)
            elif value is not None:
                sheet.write_string(count, col, str(value))
    book.close()
    return count


def write(path: Path, fmt: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write the file; returns the number of data rows."""
    return write_csv(path, header, rows) if fmt == "csv" else write_xlsx(path, header, rows)
