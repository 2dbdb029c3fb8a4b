"""Import templates a new user can import without meeting an error first: the example row is
marked as one (grey italic, a note), an import skips it while it is untouched (for every kind,
from .xlsx and .csv), an untouched template reads 没有可导入的数据行 with nothing written, and an
edited example row is data like any other."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orderdesk.core.errors import ValidationFailed
from orderdesk.imports.engine import EXAMPLE_NOTE
from orderdesk.imports.service import KIND_CLASSES, KINDS, write_template
from orderdesk.models import (
    Activity,
    Contact,
    Contract,
    Customer,
    Installment,
    Order,
    Receipt,
    Staff,
)
from tests.import_support import world
from tests.integration.test_imports import imp, money_setup

TABLES = (Activity, Contact, Contract, Customer, Installment, Order, Receipt)

# One real row per kind, by column key, valid in the world of `money_setup` (customers C1 and
# C2, contracts HT-1 / HT-2, orders SO-1 / SO-2), with the outcome it gets.
REAL_ROWS: dict[str, tuple[dict[str, Any], str]] = {
    "customers": ({"code": "C9", "name": "丙公司", "owner": "zhang"}, "created"),
    "contacts": ({"customer_code": "C1", "name": "李雷", "phone": "13900000000"}, "created"),
    "contracts": ({"number": "HT-9", "customer_code": "C1", "amount": "3000"}, "created"),
    "orders": (
        {
            "number": "SO-9",
            "customer_code": "C1",
            "order_type": "svc",
            "owner": "zhang",
            "amount": "800",
        },
        "created",
    ),
    # SO-2's contract came in with a placeholder installment of the whole amount: an update.
    "installments": ({"order": "SO-2", "sequence": 1, "amount": "5000"}, "updated"),
    "receipts": (
        {"number": "B-9", "order": "SO-2", "amount": "1000", "received_on": "2026-01-08"},
        "created",
    ),
}


@pytest.fixture
def w(session: Session) -> dict[str, Any]:
    return world(session)


def actor_for(w: dict[str, Any], kind: str) -> Staff:
    return w["admin"] if "admin" in KIND_CLASSES[kind].roles else w["fin"]


def counts(session: Session) -> dict[str, int]:
    return {t.__name__: session.scalar(select(func.count()).select_from(t)) or 0 for t in TABLES}


def template(session: Session, w: dict[str, Any], kind: str, tmp_path: Path) -> Path:
    return write_template(session, actor=actor_for(w, kind), name=kind, path=tmp_path / "t.xlsx")


def add_rows(path: Path, kind: str, rows: list[dict[str, Any]]) -> Path:
    """Type rows below the example, as a person does in the template's own columns."""
    book = load_workbook(path)
    sheet = book.worksheets[0]
    keys = [c.key for c in KIND_CLASSES[kind].columns]
    for row in rows:
        sheet.append([row.get(k) for k in keys])
    book.save(path)
    return path


def edit_example(path: Path, kind: str, **changes: Any) -> Path:
    book = load_workbook(path)
    sheet = book.worksheets[0]
    keys = [c.key for c in KIND_CLASSES[kind].columns]
    for key, value in changes.items():
        sheet.cell(row=2, column=keys.index(key) + 1, value=value)
    book.save(path)
    return path


def as_csv(path: Path, **example_as_excel_shows_it: str) -> Path:
    """The first sheet saved as CSV (UTF-8 with BOM, what Excel writes), every cell as text;
    keyword arguments rewrite cells of the example row the way Excel may show them."""
    sheet = load_workbook(path).worksheets[0]
    lines = [["" if v is None else str(v) for v in r] for r in sheet.iter_rows(values_only=True)]
    header = [h.rstrip("*") for h in lines[0]]
    for title, text in example_as_excel_shows_it.items():
        lines[1][header.index(title)] = text
    out = path.with_suffix(".csv")
    with out.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(lines)
    return out


def test_template_marks_its_example_row(
    session: Session, w: dict[str, Any], tmp_path: Path
) -> None:
    sheet = load_workbook(template(session, w, "orders", tmp_path)).worksheets[0]
    example = sheet[2]
    assert all(c.font.italic and c.font.color.rgb.endswith("808080") for c in example)
    assert sheet["A2"].comment is not None and sheet["A2"].comment.text == EXAMPLE_NOTE
    assert EXAMPLE_NOTE == "示例行:导入时自动跳过,可删除"
    assert not sheet["A1"].font.italic  # the header is not an example


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
@pytest.mark.parametrize("kind", KINDS)
def test_untouched_template_has_nothing_to_import_and_writes_nothing(
    session: Session, w: dict[str, Any], tmp_path: Path, kind: str, fmt: str
) -> None:
    money_setup(session, w, tmp_path)
    path = template(session, w, kind, tmp_path)
    path = as_csv(path) if fmt == "csv" else path
    before = counts(session)
    for dry_run in (False, True):
        with pytest.raises(ValidationFailed) as err:
            imp(session, actor_for(w, kind), kind, path, dry_run=dry_run)
        assert err.value.message.startswith("没有可导入的数据行")
        assert "第 2 行是模板示例行,已跳过" in err.value.message
    assert counts(session) == before


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
@pytest.mark.parametrize("kind", KINDS)
def test_example_kept_and_real_rows_below_import_the_real_rows(
    session: Session, w: dict[str, Any], tmp_path: Path, kind: str, fmt: str
) -> None:
    money_setup(session, w, tmp_path)
    values, outcome = REAL_ROWS[kind]
    path = add_rows(template(session, w, kind, tmp_path), kind, [values])
    path = as_csv(path) if fmt == "csv" else path
    s = imp(session, actor_for(w, kind), kind, path)
    assert (getattr(s, outcome), s.refused, s.written) == (1, 0, True), s.errors
    assert s.created + s.updated + s.unchanged == 1
    assert s.skipped_example == [2] and s.as_dict()["skipped_example"] == [2]
    assert s.line().endswith(";已跳过模板示例行(第 2 行)")
    # Nothing of the example went in: its customer, order and contract numbers are not there.
    assert session.scalar(select(Customer).where(Customer.code == "C0001")) is None
    assert session.scalar(select(Order).where(Order.number == "SO-2025-0001")) is None
    assert session.scalar(select(Contract).where(Contract.number == "HT-2026-0001")) is None


def test_the_example_is_recognised_after_the_parsers_normalisation_in_csv(
    session: Session, w: dict[str, Any], tmp_path: Path
) -> None:
    """Excel shows ¥12,000.00 as 12000 and may rewrite a date: still the same example."""
    money_setup(session, w, tmp_path)
    path = add_rows(template(session, w, "orders", tmp_path), "orders", [REAL_ROWS["orders"][0]])
    s = imp(session, w["admin"], "orders", as_csv(path, 金额="12000", 订单编号=" SO-2025-0001 "))
    assert (s.created, s.refused, s.skipped_example) == (1, 0, [2]), s.errors
    inst = template(session, w, "installments", tmp_path)
    csv_path = as_csv(inst, 到期日="2026/1/15", 收款日期="2026年1月20日", 金额="36,000")
    with pytest.raises(ValidationFailed, match="没有可导入的数据行"):
        imp(session, w["fin"], "installments", csv_path)


def test_an_edited_example_row_is_data(session: Session, w: dict[str, Any], tmp_path: Path) -> None:
    # Only the amount changed: checked like any row, and refused for its unknown customer.
    path = edit_example(template(session, w, "orders", tmp_path), "orders", amount="13000")
    s = imp(session, w["admin"], "orders", path)
    assert (s.refused, s.skipped_example) == (1, [])
    assert "「客户编码」找不到客户「C0001」" in s.errors[0]
    assert counts(session)["Order"] == 0
    # The customers example with a real owner is a customer like any other.
    path = edit_example(template(session, w, "customers", tmp_path), "customers", owner="zhang")
    s = imp(session, w["admin"], "customers", path)
    assert (s.created, s.refused, s.skipped_example) == (1, 0, []), s.errors
    assert session.scalar(select(Customer.code)) == "C0001"


def test_refused_rows_beside_a_kept_example_and_the_error_workbook(
    session: Session, w: dict[str, Any], tmp_path: Path
) -> None:
    path = add_rows(
        template(session, w, "customers", tmp_path),
        "customers",
        [{"code": "C1", "name": "甲公司"}, {"code": "C2", "name": ""}],
    )
    s = imp(session, w["admin"], "customers", path)
    assert (s.created, s.refused, s.written, s.skipped_example) == (0, 1, False, [2])
    assert s.errors == ["第 4 行:「客户名称」必填"]
    assert s.error_file is not None
    rows = list(load_workbook(s.error_file).active.iter_rows(values_only=True))
    notes = {r[0]: r[-1] for r in rows[1:]}
    assert notes == {"C0001": EXAMPLE_NOTE, "C1": "", "C2": "「客户名称」必填"}
    assert counts(session)["Customer"] == 0


def test_a_sheet_with_a_header_only_has_nothing_to_import(
    session: Session, w: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("客户编码,客户名称\n", encoding="utf-8")
    with pytest.raises(ValidationFailed) as err:
        imp(session, w["admin"], "customers", path)
    assert err.value.message == "没有可导入的数据行"
