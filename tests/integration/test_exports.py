"""Exports (issue 13): CSV with BOM and streaming xlsx of a period's receipts, invoices, orders,
AR aging and the accounting journal (balanced vouchers, the default account codes); finance
only; the CLI writes the same file and refuses without writing one."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.cli import main
from orderdesk.core import clock
from orderdesk.core.errors import NotFound, PermissionDenied, ValidationFailed
from orderdesk.exports.journal import split_tax
from orderdesk.exports.service import export
from orderdesk.models import Installment, Staff
from orderdesk.money.invoices import issue_invoice
from orderdesk.money.ledger import check_ledger
from orderdesk.money.plans import generate_plan
from orderdesk.money.receipts import record_receipt
from orderdesk.runtime import Runtime
from orderdesk.settings import Settings
from tests.api_support import ApiClient
from tests.money_world import contract_of, order_with_contract, staff

D = Decimal
NOW = datetime(2026, 6, 30, 4, 0, tzinfo=UTC)
JUNE = (date(2026, 6, 1), date(2026, 6, 30))


@pytest.fixture
def money(session: Session) -> dict[str, Staff]:
    owner = staff(session, "s1", "sales")
    fin = staff(session, "fin1", "finance")
    o = order_with_contract(
        session,
        owner=owner,
        amount="1060.00",
        number="SO-9",
        signed=date(2026, 6, 2),
        terms=[{"amount": "1060.00", "trigger": "on_date", "date": "2026-06-10"}],
    )
    generate_plan(session, contract=contract_of(o), order=o)
    session.flush()
    inst = session.scalars(select(Installment)).one()
    with clock.frozen(NOW):
        issue_invoice(
            session, actor=fin, installment_id=inst.id, issue_date=date(2026, 6, 5), number="FP1"
        )
        record_receipt(session, actor=fin, number="SO-9", amount="500.00", received_on=JUNE[1])
    session.flush()
    assert check_ledger(session) == []
    return {"fin": fin, "owner": owner}


def _csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def test_journal_balances_with_default_accounts(
    session: Session, money: dict[str, Staff], tmp_path: Path
) -> None:
    path = tmp_path / "j.csv"
    n = export(
        session,
        actor=money["fin"],
        kind="journal",
        date_from=JUNE[0],
        date_to=JUNE[1],
        fmt="csv",
        path=path,
    )
    rows = _csv(path)
    assert rows[0][:5] == ["凭证日期", "凭证字", "凭证号", "摘要", "科目编码"] and n == 5
    lines = [(r[2], r[4], D(r[6] or 0), D(r[7] or 0)) for r in rows[1:]]
    # 1060.00 at 6%: net 1000.00, tax 60.00; the receipt 500.00 bank against receivable.
    assert lines == [
        ("1", "1122", D("1060.00"), D("0.00")),
        ("1", "6001", D("0.00"), D("1000.00")),
        ("1", "22210106", D("0.00"), D("60.00")),
        ("2", "1002", D("500.00"), D("0.00")),
        ("2", "1122", D("0.00"), D("500.00")),
    ]
    for voucher in ("1", "2"):
        mine = [x for x in lines if x[0] == voucher]
        assert sum(x[2] for x in mine) == sum(x[3] for x in mine)
    assert split_tax(D("100.00"), D("0.13")) == (D("88.50"), D("11.50"))


def test_receipts_invoices_orders_and_aging_as_csv_and_xlsx(
    session: Session, money: dict[str, Staff], tmp_path: Path
) -> None:
    fin = money["fin"]
    expected = {"receipts": 1, "invoices": 1, "orders": 1, "ar-aging": 1}
    start, end = JUNE
    for kind, count in expected.items():
        path = tmp_path / f"{kind}.csv"
        n = export(
            session, actor=fin, kind=kind, date_from=start, date_to=end, fmt="csv", path=path
        )
        assert n == count and len(_csv(path)) == count + 1
        xlsx = tmp_path / f"{kind}.xlsx"
        n = export(
            session, actor=fin, kind=kind, date_from=start, date_to=end, fmt="xlsx", path=xlsx
        )
        assert n == count
        with zipfile.ZipFile(xlsx) as book:
            assert "xl/worksheets/sheet1.xml" in book.namelist()
    assert _csv(tmp_path / "receipts.csv")[1][4] == "500.00"
    assert _csv(tmp_path / "ar-aging.csv")[1][-1] == "560.00"  # 1060 - 500, 20 days overdue
    # Outside the period: nothing.
    path = tmp_path / "may.csv"
    start, end = date(2026, 5, 1), date(2026, 5, 31)
    assert (
        export(
            session, actor=fin, kind="receipts", date_from=start, date_to=end, fmt="csv", path=path
        )
        == 0
    )


def test_export_is_finance_only_and_checks_its_input(
    session: Session, money: dict[str, Staff], tmp_path: Path
) -> None:
    path = tmp_path / "x.csv"
    fin, owner = money["fin"], money["owner"]

    def run(actor: Staff, kind: str = "receipts", fmt: str = "csv", flip: bool = False) -> int:
        start, end = (JUNE[1], JUNE[0]) if flip else JUNE
        return export(
            session, actor=actor, kind=kind, date_from=start, date_to=end, fmt=fmt, path=path
        )

    with pytest.raises(PermissionDenied):
        run(owner)
    with pytest.raises(NotFound):
        run(fin, kind="secrets")
    with pytest.raises(ValidationFailed):
        run(fin, fmt="pdf")
    with pytest.raises(ValidationFailed):
        run(fin, flip=True)
    assert not path.exists()


def test_cli_export_writes_the_file_and_refuses_without_one(
    rt: Runtime, settings: Settings, session: Session, money: dict[str, Staff], tmp_path: Path
) -> None:
    session.commit()
    env = {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "REDIS_NAMESPACE": settings.redis_namespace,
    }
    out = tmp_path / "journal.xlsx"
    args = ["export", "journal", "--from", "2026-06-01", "--to", "2026-06-30"]
    result = CliRunner().invoke(main, [*args, "--out", str(out), "--as", "fin1"], env=env)
    assert result.exit_code == 0, result.output
    assert "5 行" in result.output and zipfile.is_zipfile(out)
    denied = tmp_path / "denied.csv"
    result = CliRunner().invoke(
        main, [*args, "--format", "csv", "--out", str(denied), "--as", "s1"], env=env
    )
    assert result.exit_code == 1 and not denied.exists()


def test_api_download_csv_xlsx_and_refusals(
    app: Flask, client: FlaskClient, session: Session, money: dict[str, Staff]
) -> None:
    session.commit()
    api = ApiClient(app, client)
    fin = api.as_(api.login("fin1"))
    res = fin.get("/exports/journal?from=2026-06-01&to=2026-06-30&format=csv")
    assert res.status_code == 200 and res.mimetype == "text/csv"
    assert res.data.startswith(b"\xef\xbb\xbf") and "22210106" in res.data.decode("utf-8-sig")
    res = fin.get("/exports/receipts?from=2026-06-01&to=2026-06-30")
    assert res.status_code == 200 and zipfile.is_zipfile(io.BytesIO(res.data))
    owner = api.as_(api.login("s1"))
    assert owner.get("/exports/receipts?from=2026-06-01&to=2026-06-30").status_code == 403
    assert fin.get("/exports/receipts?from=2026-06-31&to=2026-06-30").status_code == 422
    assert fin.get("/exports/receipts?from=2026-06-30&to=2026-06-01").status_code == 422
    assert fin.get("/exports/receipts?to=2026-06-30").status_code == 422
    assert fin.get("/exports/planets?from=2026-06-01&to=2026-06-30").status_code == 404
