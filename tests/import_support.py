"""Builders for the import tests: messy workbooks and CSV files made in the test, and a world
with staff, an order type and a business line (plain functions, not a test module)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from sqlalchemy.orm import Session

from orderdesk.models import BusinessLine, OrderType, Staff
from tests.money_world import staff


def workbook(
    path: Path,
    header: Sequence[Any],
    rows: Sequence[Sequence[Any]],
    *,
    title: str | None = None,
    group: tuple[str, int, int] | None = None,
) -> Path:
    """An xlsx with an optional merged title row above the header and an optional merged group
    header (text, first column, last column; 1-based) whose cells below stay blank."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    if title:
        sheet.append([title])
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    if group:
        text, first, last = group
        top: list[str | None] = [None] * len(header)
        top[first - 1] = text
        sheet.append(top)
        r = sheet.max_row
        sheet.merge_cells(start_row=r, start_column=first, end_row=r, end_column=last)
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    book.save(path)
    return path


def csv_file(path: Path, lines: Sequence[str], encoding: str) -> Path:
    path.write_bytes("\r\n".join(lines).encode(encoding))
    return path


def world(session: Session) -> dict[str, Any]:
    admin = staff(session, "admin1", "admin")
    fin = staff(session, "fin1", "finance")
    sales = staff(session, "zhang", "sales")
    sales.name = "张三"
    line = BusinessLine(code="it", name="IT 实施")
    otype = OrderType(code="svc", name="实施服务", business_line=line)
    session.add_all([line, otype])
    session.flush()
    return {"admin": admin, "fin": fin, "sales": sales, "line": line, "type": otype}


def as_staff(session: Session, userid: str) -> Staff:
    from sqlalchemy import select

    return session.scalars(select(Staff).where(Staff.userid == userid)).one()
