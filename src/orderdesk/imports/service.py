"""The entry points of imports: `make_kind` (with its role check), `run_import` (engine) and
`write_template` (a workbook with Chinese headers, one example row and drop-down lists)."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy.orm import Session

from orderdesk.core.errors import NotFound
from orderdesk.directory.permissions import require_role
from orderdesk.imports.engine import EXAMPLE_NOTE, Kind, Summary, run_import
from orderdesk.imports.kinds_directory import ContactsKind, CustomersKind
from orderdesk.imports.kinds_money import InstallmentsKind, ReceiptsKind
from orderdesk.imports.kinds_orders import ContractsKind, OrdersKind
from orderdesk.models import Staff

KIND_CLASSES: dict[str, type[Kind]] = {
    k.name: k
    for k in (
        CustomersKind,
        ContactsKind,
        ContractsKind,
        OrdersKind,
        InstallmentsKind,
        ReceiptsKind,
    )
}
KINDS = tuple(KIND_CLASSES)
IMPORT_ROLES = ("admin", "finance")
TEMPLATE_ROWS = 2000  # how far down the drop-down lists reach
EXAMPLE_FONT = Font(color="808080", italic=True)  # grey italic: reads as "not real data"

__all__ = ["IMPORT_ROLES", "KINDS", "Summary", "make_kind", "run_import", "write_template"]


def make_kind(session: Session, actor: Staff, name: str) -> Kind:
    """The import kind, when `actor` may import it (customers: admin; money: finance)."""
    cls = KIND_CLASSES.get(name)
    if cls is None:
        raise NotFound(f"没有这个导入类型(可选:{'、'.join(KINDS)})")
    require_role(actor, *cls.roles)
    return cls(session, actor)


def _example_row(sheet: Worksheet, kind: Kind) -> None:
    """Row 2: the example, grey italic with a note on its first cell. The import skips it while
    it is untouched (engine.read_sheet), so the template imports as it comes."""
    sheet.append([c.example for c in kind.columns])
    for cell in sheet[2]:
        cell.font = EXAMPLE_FONT
    sheet["A2"].comment = Comment(EXAMPLE_NOTE, "OrderDesk", height=60, width=220)
    sheet.freeze_panes = "A2"  # the header stays in view while people type below


def write_template(session: Session, *, actor: Staff, name: str, path: Path) -> Path:
    kind = make_kind(session, actor, name)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = f"{kind.title}导入"
    sheet.append([f"{c.title}*" if c.required else c.title for c in kind.columns])
    _example_row(sheet, kind)
    dynamic = kind.options()
    lists = book.create_sheet("选项")  # long lists live here (a formula list is limited to 255)
    for i, col in enumerate(kind.columns, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = max(12, len(col.title) * 3)
        options = list(col.options) or dynamic.get(col.key, [])
        if not options:
            continue
        letter = get_column_letter(i)
        for r, value in enumerate(options, start=1):
            lists.cell(row=r, column=i, value=value)
        check = DataValidation(
            type="list",
            formula1=f"'选项'!${letter}$1:${letter}${len(options)}",
            allow_blank=True,
            showErrorMessage=True,
            errorTitle="无效的值",
            error=f"请从下拉列表中选择{col.title}",
        )
        sheet.add_data_validation(check)
        check.add(f"{letter}2:{letter}{TEMPLATE_ROWS}")
    lists.sheet_state = "hidden"
    book.save(path)
    return path
