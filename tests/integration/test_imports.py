"""Imports (issue 13): messy sheets of every kind of mess, CSV encodings, all-or-nothing vs
--skip-invalid, idempotent re-import, changed rows with their timeline, the error workbook,
installments with historical receipts (ledger check), the export -> import round trip."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orderdesk.core.errors import PermissionDenied, ValidationFailed
from orderdesk.exports.service import export
from orderdesk.imports.service import make_kind, run_import, write_template
from orderdesk.models import Activity, Customer, Installment, Order, Receipt, Staff
from orderdesk.money.ledger import check_ledger
from tests.import_support import csv_file, workbook, world

D = Decimal


def imp(session: Session, actor: Staff, kind: str, path: Path, **kw: Any) -> Any:
    return run_import(session, actor=actor, kind=make_kind(session, actor, kind), path=path, **kw)


@pytest.fixture
def w(session: Session) -> dict[str, Any]:
    return world(session)


def customers_sheet(tmp_path: Path, rows: list[list[Any]], name: str = "c.xlsx") -> Path:
    header = ["客户编码", "客户 名称 ", "简称", "负责人"]  # stray spaces in a header
    return workbook(tmp_path / name, header, rows, title="2025 年客户清单")


def test_customers_with_title_row_blank_rows_and_full_width(
    session: Session, w: dict[str, Any], tmp_path: Path
) -> None:
    path = customers_sheet(
        tmp_path,
        [
            ["C001", " 杭州青禾数字科技有限公司 ", "青禾", "张三"],
            [None, None, None, None],  # blank row
            ["C002", "上海云帆(集团)有限公司", "云帆", "zhang"],  # full-width brackets
        ],
    )
    s = imp(session, w["admin"], "customers", path)
    assert (s.created, s.refused, s.written) == (2, 0, True)
    names = set(session.scalars(select(Customer.name)))
    assert names == {"杭州青禾数字科技有限公司", "上海云帆(集团)有限公司"}
    c = session.scalars(select(Customer).where(Customer.code == "C002")).one()
    assert c.owner_id == w["sales"].id and c.name_initials
    assert (
        session.scalar(
            select(func.count()).select_from(Activity).where(Activity.customer_id == c.id)
        )
        == 1
    )
    # Same file again: nothing changes.
    again = imp(session, w["admin"], "customers", path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)


def test_changed_row_updates_and_writes_old_to_new(
    session: Session, w: dict[str, Any], tmp_path: Path
) -> None:
    imp(session, w["admin"], "customers", customers_sheet(tmp_path, [["C1", "甲公司", "甲", ""]]))
    changed = customers_sheet(tmp_path, [["C1", "甲公司", "甲方", ""]], "c2.xlsx")
    s = imp(session, w["admin"], "customers", changed)
    assert (s.updated, s.unchanged) == (1, 0)
    body = session.scalars(select(Activity.body).order_by(Activity.id.desc())).first()
    assert body is not None and "简称:甲 → 甲方" in body


def test_all_or_nothing_then_skip_invalid_and_error_workbook(
    session: Session, w: dict[str, Any], tmp_path: Path
) -> None:
    path = customers_sheet(
        tmp_path,
        [
            ["C1", "甲公司", "", ""],
            ["C2", "", "", ""],  # missing name
            ["C3", "丙公司", "", "nobody"],  # unknown owner
            ["C1", "丁公司", "", ""],  # duplicate key in the file
        ],
    )
    s = imp(session, w["admin"], "customers", path)
    assert (s.created, s.refused, s.written) == (0, 3, False)
    assert session.scalar(select(func.count()).select_from(Customer)) == 0
    book = load_workbook(s.error_file)
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][-1] == "错误"
    errors = {r[0]: r[-1] for r in rows[1:]}
    assert errors["C2"] == "「客户名称」必填"
    assert "找不到员工「nobody」" in errors["C3"]
    assert any(r[0] == "C1" and r[-1] and "与第 3 行重复" in r[-1] for r in rows[1:])
    s2 = imp(session, w["admin"], "customers", path, skip_invalid=True)
    assert (s2.created, s2.refused, s2.written) == (1, 3, True)
    assert session.scalar(select(Customer.name)) == "甲公司"


def test_dry_run_counts_and_writes_nothing(
    session: Session, w: dict[str, Any], tmp_path: Path
) -> None:
    path = customers_sheet(tmp_path, [["C1", "甲公司", "", ""]])
    s = imp(session, w["admin"], "customers", path, dry_run=True)
    assert (s.created, s.written) == (1, False)
    assert session.scalar(select(func.count()).select_from(Customer)) == 0


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
def test_csv_in_bom_utf8_and_gb18030(
    session: Session, w: dict[str, Any], tmp_path: Path, encoding: str
) -> None:
    lines = ["客户代码,公司名称,统一社会信用代码", "C9,北京星河科技有限公司,91110000802100433B"]
    s = imp(session, w["admin"], "customers", csv_file(tmp_path / "c.csv", lines, encoding))
    assert (s.created, s.refused) == (1, 0)
    assert session.scalar(select(Customer.credit_code)) == "91110000802100433B"


def test_bad_credit_code_and_ambiguous_header_refused(
    session: Session, w: dict[str, Any], tmp_path: Path
) -> None:
    lines = ["客户编码,客户名称,统一社会信用代码", "C9,乙公司,91110000802100433X"]
    s = imp(session, w["admin"], "customers", csv_file(tmp_path / "c.csv", lines, "utf-8"))
    assert s.refused == 1 and "校验位" in s.errors[0]
    bad = ["客户编码,客户名称,合同金额(万元)", "C9,乙公司,12"]
    with pytest.raises(ValidationFailed, match="万元"):
        imp(session, w["admin"], "contracts", csv_file(tmp_path / "d.csv", bad, "utf-8"))


def seed_customers(session: Session, w: dict[str, Any], tmp_path: Path) -> None:
    path = customers_sheet(tmp_path, [["C1", "甲公司", "", ""], ["C2", "乙公司", "", ""]], "s.xlsx")
    assert imp(session, w["admin"], "customers", path).created == 2


def test_orders_with_messy_amounts_merged_group_header_and_serial_dates(
    session: Session, w: dict[str, Any], tmp_path: Path
) -> None:
    seed_customers(session, w, tmp_path)
    header = ["订单号", "客户", "订单类型", "负责人", "状态", "订单金额", "合同编号"]
    path = workbook(
        tmp_path / "o.xlsx",
        header,
        [
            ["SO-2025-0001", "甲公司", "实施服务", "张三", "执行中", "1.2万", None],
            ["so-2025-0002", "乙公司", "svc", "zhang", "in_progress", "¥12,000.00", None],
            ["SO-2025-0003", "乙公司", "实施服务", "zhang", "已关闭", "12000元", None],
            ["SO-2025-0004", "乙公司", "实施服务", "zhang", "执行中", "1.234,56", None],
        ],
        group=("订单信息", 1, 4),
    )
    s = imp(session, w["admin"], "orders", path, skip_invalid=True)
    assert (s.created, s.refused) == (3, 1)
    assert "金额无法识别" in s.errors[0]
    amounts = set(session.scalars(select(Order.amount)))
    assert amounts == {D("12000.00")}
    o = session.scalars(select(Order).where(Order.number == "SO-2025-0002")).one()
    assert o.business_line_id == w["line"].id and o.status == "in_progress"
    assert (
        session.scalar(select(func.count()).select_from(Activity).where(Activity.order_id == o.id))
        == 1
    )


def money_setup(session: Session, w: dict[str, Any], tmp_path: Path) -> None:
    seed_customers(session, w, tmp_path)
    contracts = workbook(
        tmp_path / "ht.xlsx",
        ["合同编号", "客户编码", "合同金额(元)", "税率", "签订日期"],
        [["HT-1", "C1", "100000", "6%", 46027], ["HT-2", "C2", "¥5,000", "0.06", "2026年1月5日"]],
    )
    assert imp(session, w["fin"], "contracts", contracts).created == 2
    orders = workbook(
        tmp_path / "so.xlsx",
        ["订单编号", "客户编码", "订单类型", "负责人", "金额", "合同编号"],
        [
            ["SO-1", "C1", "svc", "zhang", "100000", "HT-1"],
            ["SO-2", "C2", "svc", "zhang", "5000", "HT-2"],
        ],
    )
    assert imp(session, w["fin"], "orders", orders).created == 2


def test_installments_with_paid_amounts_come_with_receipts_and_the_ledger_holds(
    session: Session, w: dict[str, Any], tmp_path: Path
) -> None:
    money_setup(session, w, tmp_path)
    header = ["订单编号", "期次", "款项名称", "金额", "到期日", "已收金额", "收款日期"]
    rows = [
        ["SO-1", 1, "首付款", "30000", "2026/1/5", "30000", "2026.01.10"],
        ["SO-1", 2, "验收款", "70000", "2026-03-01", "20000", None],
        ["SO-2", 1, "全款", "5000", None, None, None],
    ]
    path = workbook(tmp_path / "inst.xlsx", header, rows)
    s = imp(session, w["fin"], "installments", path)
    # The contracts came in with one placeholder installment each: seq 1 is an update.
    assert (s.created, s.updated, s.refused) == (1, 2, 0), s.errors
    insts = {
        i.sequence: i
        for i in session.scalars(
            select(Installment).join(Installment.plan).where(Installment.amount > 6000)
        )
    }
    assert insts[1].paid_amount == D("30000.00") and insts[1].status == "paid"
    assert insts[2].paid_amount == D("20000.00") and insts[2].status == "partially_paid"
    assert session.scalar(select(func.count()).select_from(Receipt)) == 2
    assert check_ledger(session) == []
    again = imp(session, w["fin"], "installments", path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert session.scalar(select(func.count()).select_from(Receipt)) == 2
    # More paid on the second installment: one more receipt for the difference.
    rows[1][5] = "50000"
    s3 = imp(session, w["fin"], "installments", workbook(tmp_path / "i2.xlsx", header, rows))
    assert (s3.updated, s3.unchanged) == (1, 2)
    assert insts[2].paid_amount == D("50000.00")
    assert check_ledger(session) == []


def test_installments_that_do_not_sum_to_the_contract_are_refused(
    session: Session, w: dict[str, Any], tmp_path: Path
) -> None:
    money_setup(session, w, tmp_path)
    path = workbook(tmp_path / "i.xlsx", ["订单编号", "期次", "金额"], [["SO-2", 1, "4000"]])
    s = imp(session, w["fin"], "installments", path)
    assert s.refused == 1 and "不等于合同 HT-2 金额 5000.00" in s.errors[0]


def test_roles_are_checked(session: Session, w: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(PermissionDenied):
        make_kind(session, w["sales"], "orders")
    with pytest.raises(PermissionDenied):
        make_kind(session, w["admin"], "receipts")


def test_export_then_import_changes_nothing(
    session: Session, w: dict[str, Any], tmp_path: Path
) -> None:
    money_setup(session, w, tmp_path)
    path = workbook(
        tmp_path / "i.xlsx",
        ["订单编号", "期次", "金额", "已收金额", "收款日期"],
        [["SO-2", 1, "5000", "2000", "2026-01-06"]],
    )
    imp(session, w["fin"], "installments", path)
    before = session.scalar(select(func.count()).select_from(Activity))
    period = {"date_from": date(2026, 1, 1), "date_to": date(2026, 12, 31)}
    for kind, fmt in (("orders", "xlsx"), ("receipts", "csv"), ("orders", "csv")):
        out = tmp_path / f"{kind}.{fmt}"
        n = export(session, actor=w["fin"], kind=kind, fmt=fmt, path=out, **period)
        assert n >= 1
        s = imp(session, w["fin"], kind, out)
        assert (s.created, s.updated, s.refused, s.unchanged) == (0, 0, 0, n), s.errors
    assert session.scalar(select(func.count()).select_from(Activity)) == before
    assert check_ledger(session) == []


def test_changed_receipt_amount_is_refused_not_rewritten(
    session: Session, w: dict[str, Any], tmp_path: Path
) -> None:
    money_setup(session, w, tmp_path)
    header = ["回款流水号", "订单编号", "金额", "到账日期", "备注"]
    path = workbook(tmp_path / "r.xlsx", header, [["B-1", "SO-2", "1000", "2026-01-08", "网银"]])
    assert imp(session, w["fin"], "receipts", path).created == 1
    changed = workbook(
        tmp_path / "r2.xlsx", header, [["B-1", "SO-2", "1000", "2026-01-08", "银行"]]
    )
    assert imp(session, w["fin"], "receipts", changed).updated == 1
    wrong = workbook(tmp_path / "r3.xlsx", header, [["B-1", "SO-2", "2000", "2026-01-08", "银行"]])
    s = imp(session, w["fin"], "receipts", wrong)
    assert s.refused == 1 and "请先在系统中冲销" in s.errors[0]
    assert session.scalar(select(Receipt.amount)) == D("1000.00")
    assert check_ledger(session) == []


def test_template_has_headers_example_and_drop_downs(
    session: Session, w: dict[str, Any], tmp_path: Path
) -> None:
    path = write_template(session, actor=w["admin"], name="orders", path=tmp_path / "t.xlsx")
    book = load_workbook(path)
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    assert header[0] == "订单编号*" and "状态" in header
    assert sheet.cell(row=2, column=1).value == "SO-2025-0001"
    formulas = {dv.formula1 for dv in sheet.data_validations.dataValidation}
    assert len(formulas) >= 3  # order type, business line, owner, status
    options = book["选项"]
    status_col = header.index("状态") + 1
    assert options.cell(row=1, column=status_col).value == "草稿"
    # The untouched template: its example row is skipped, not refused (test_import_templates).
    with pytest.raises(ValidationFailed, match="没有可导入的数据行"):
        imp(session, w["admin"], "orders", path)


def test_changed_order_row_goes_through_the_order_service(
    session: Session, w: dict[str, Any], tmp_path: Path
) -> None:
    money_setup(session, w, tmp_path)
    header = ["订单编号", "订单名称", "金额"]
    renamed = workbook(tmp_path / "o1.xlsx", header, [["SO-1", "新名称", "100000"]])
    s = imp(session, w["admin"], "orders", renamed)
    assert (s.updated, s.refused) == (1, 0), s.errors
    order = session.scalars(select(Order).where(Order.number == "SO-1")).one()
    entry = session.scalars(
        select(Activity).where(Activity.order_id == order.id).order_by(Activity.id.desc())
    ).first()
    assert entry is not None and entry.data["changes"]["title"] == ["SO-1", "新名称"]
    # An in-progress order's amount is frozen by the order service: refused, nothing kept.
    dearer = workbook(tmp_path / "o2.xlsx", header, [["SO-1", "新名称", "120000"]])
    # (finance may not change orders at all: the order service says so, row by row)
    assert "只有订单负责人" in imp(session, w["fin"], "orders", dearer).errors[0]
    s2 = imp(session, w["admin"], "orders", dearer)
    assert s2.refused == 1 and "不能再修改" in s2.errors[0]
    assert order.amount == D("100000.00")
    closed = workbook(
        tmp_path / "o3.xlsx", ["订单编号", "状态", "金额"], [["SO-1", "已关闭", "100000"]]
    )
    assert "状态不能通过导入修改" in imp(session, w["admin"], "orders", closed).errors[0]


def test_contacts_by_customer_and_name(session: Session, w: dict[str, Any], tmp_path: Path) -> None:
    seed_customers(session, w, tmp_path)
    header = ["客户编码", "联系人", "手机", "职务"]
    path = workbook(
        tmp_path / "ct.xlsx",
        header,
        [["C1", "王敏", "13800000000", "IT 经理"], ["C2", "李雷", "电话不详", ""]],
    )
    s = imp(session, w["admin"], "contacts", path, skip_invalid=True)
    assert (s.created, s.refused) == (1, 1) and "电话格式不正确" in s.errors[0]
    again = workbook(tmp_path / "ct2.xlsx", header, [["C1", "王敏", "13900000000", "IT 经理"]])
    s2 = imp(session, w["admin"], "contacts", again)
    assert s2.updated == 1
    body = session.scalars(select(Activity.body).order_by(Activity.id.desc())).first()
    assert body is not None and "13800000000 → 13900000000" in body


def test_same_column_twice_and_ambiguous_dates_are_refused_with_the_reason(
    session: Session, w: dict[str, Any], tmp_path: Path
) -> None:
    twice = ["回款流水号,金额,回款金额,到账日期,订单编号", "B1,10,10,2026-01-05,SO-1"]
    with pytest.raises(ValidationFailed, match="出现了两次"):
        imp(session, w["fin"], "receipts", csv_file(tmp_path / "a.csv", twice, "utf-8"))
    money_setup(session, w, tmp_path)
    dates = ["回款流水号,金额,到账日期,订单编号", "B1,10,01/02/2026,SO-2", "B2,10,2026.01.05,SO-2"]
    s = imp(session, w["fin"], "receipts", csv_file(tmp_path / "b.csv", dates, "gb18030"))
    assert s.refused == 1 and "日期无法识别" in s.errors[0] and not s.written
