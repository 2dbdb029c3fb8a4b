"""Read a sheet (.xlsx through openpyxl read_only, .csv in UTF-8 with or without BOM, or GB18030)
into its header and data rows, whatever the layout people gave it: a title row or a merged group
header above the real one, blank rows, stray spaces, full-width characters in the headers.

The header row is the row (of the first ten) whose cells name the most known columns; a blank
header cell under a merged group header takes the group's text (read_only openpyxl hands a merged
range's value to its first cell only, so the group text is carried to the right).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from orderdesk.core.errors import ValidationFailed
from orderdesk.imports.values import clean

HEADER_SCAN_ROWS = 10
ENCODINGS = ("utf-8-sig", "gb18030")


@dataclass(frozen=True)
class SheetRow:
    number: int  # the row number a person sees in Excel (1-based, header included)
    cells: tuple[Any, ...]


def decode_csv(raw: bytes) -> str:
    """UTF-8 (a BOM is dropped) when the bytes are valid UTF-8, else GB18030 (which Excel for
    Chinese Windows writes); anything else is refused rather than read as mojibake."""
    for encoding in ENCODINGS:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationFailed("CSV 文件编码无法识别(请保存为 UTF-8 或 GB18030/GBK)")


def _csv_rows(path: Path) -> Iterator[tuple[Any, ...]]:
    text = decode_csv(path.read_bytes())
    for row in csv.reader(io.StringIO(text, newline="")):
        yield tuple(row)


def _xlsx_rows(path: Path) -> Iterator[tuple[Any, ...]]:
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise ValidationFailed(f"无法读取 Excel 文件:{type(exc).__name__}") from exc
    try:
        sheet = book.worksheets[0]
        yield from sheet.iter_rows(values_only=True)
    finally:
        book.close()


def open_rows(path: Path) -> Iterator[tuple[Any, ...]]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _csv_rows(path)
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx_rows(path)
    raise ValidationFailed("只支持 .xlsx 和 .csv 文件")


def count_rows(path: Path) -> int | None:
    """A cheap estimate of the data rows for the progress bar (None when unknown)."""
    if path.suffix.lower() == ".csv":
        with path.open("rb") as fh:
            return max(sum(1 for _ in fh) - 1, 0)
    try:
        book = load_workbook(path, read_only=True)
        rows = book.worksheets[0].max_row
        book.close()
    except Exception:
        return None
    return max((rows or 1) - 1, 0)


def _carry_merged(row: Sequence[Any]) -> list[str]:
    """A merged group header's text carried over the blank cells to its right."""
    out: list[str] = []
    last = ""
    for cell in row:
        text = clean(cell)
        last = text or last
        out.append(last)
    return out


def header_labels(rows: Sequence[Sequence[Any]], index: int) -> list[tuple[str, ...]]:
    """For each column: its own header text, then the (merged) group text above it."""
    own = [clean(c) for c in rows[index]]
    above = _carry_merged(rows[index - 1]) if index > 0 else [""] * len(own)
    above += [""] * (len(own) - len(above))
    return [tuple(t for t in (own[i], above[i]) if t) for i in range(len(own))]


def is_blank(cells: Sequence[Any]) -> bool:
    return all(clean(c) == "" for c in cells)
