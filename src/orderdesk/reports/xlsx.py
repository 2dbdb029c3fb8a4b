"""A report table as a workbook: the same columns and figures as the JSON, money as numbers."""

from __future__ import annotations

import io
from decimal import Decimal

import xlsxwriter

from orderdesk.reports.table import Table


def table_xlsx(table: Table) -> bytes:
    """One sheet: title row, Chinese headers, the rows and a 合计 row. Written streaming."""
    return tables_xlsx([table])


def tables_xlsx(tables: list[Table]) -> bytes:
    """One sheet per table (the finance pack), each as `table_xlsx` writes it."""
    buf = io.BytesIO()
    # constant_memory: rows are flushed as written, so a long table does not grow memory.
    book = xlsxwriter.Workbook(buf, {"constant_memory": True, "in_memory": True})
    for n, table in enumerate(tables, 1):
        _sheet(book, table, n)
    book.close()
    return buf.getvalue()


def _sheet(book: xlsxwriter.Workbook, table: Table, n: int) -> None:
    # Sheet names: <= 31 characters, none of []:*?/\ and unique in the book.
    name = "".join(ch for ch in table.title if ch not in "[]:*?/\\")
    sheet = book.add_worksheet((name if n == 1 else f"{n}.{name}")[:31])
    bold = book.add_format({"bold": True})
    money = book.add_format({"num_format": "#,##0.00"})
    sheet.write_string(0, 0, table.title, bold)
    for col, column in enumerate(table.columns):
        sheet.write_string(1, col, column.title, bold)
        sheet.set_column(col, col, 14 if column.money else 12)
    row_no = 2
    total_row = {table.columns[0].key: "合计", **table.totals}
    for row in [*table.rows, total_row]:
        text_format = bold if row is total_row else None
        for col, column in enumerate(table.columns):
            value = row.get(column.key)
            if isinstance(value, (Decimal, int)) and not isinstance(value, bool):
                # Excel stores doubles; amounts to the cent are exact within 15 digits.
                sheet.write_number(row_no, col, float(value), money if column.money else None)
            elif value is not None:
                sheet.write_string(row_no, col, str(value), text_format)
        row_no += 1
