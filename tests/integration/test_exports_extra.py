"""Exports of issue 13, part 2: the `timesheets` kind (CLI and API download) and the journal's
account codes set in the YAML company config (`reporting.journal_accounts`)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.cli import main
from orderdesk.config.yaml_io import import_config
from orderdesk.core import clock
from orderdesk.exports.service import export
from orderdesk.models import ChatBinding, Installment, TimeEntry
from orderdesk.money.invoices import issue_invoice
from orderdesk.money.plans import generate_plan
from orderdesk.money.receipts import record_receipt
from orderdesk.reports.packs import management_groups
from orderdesk.settings import Settings
from tests.api_support import ApiClient
from tests.money_world import contract_of, order_with_contract, project_for, staff

NOW = datetime(2026, 6, 30, 4, 0, tzinfo=UTC)


def _csv(raw: bytes) -> list[list[str]]:
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def _world(session: Session) -> None:
    owner = staff(session, "s1", "sales")
    staff(session, "fin1", "finance")
    dev = staff(session, "d1", "delivery")
    o = order_with_contract(session, owner=owner, amount="1060.00", number="SO-T1")
    p = project_for(session, o)
    session.add_all(
        [
            TimeEntry(
                staff=dev,
                project_id=p.id,
                work_date=date(2026, 6, 3),
                hours=Decimal("2.5"),
                note="需求访谈",
            ),
            TimeEntry(
                staff=dev,
                project_id=p.id,
                work_date=date(2026, 6, 4),
                hours=Decimal("8"),
                billable=False,
            ),
            TimeEntry(staff=dev, project_id=p.id, work_date=date(2026, 7, 1), hours=Decimal("1")),
        ]
    )
    session.commit()


def test_timesheets_export_cli_and_api(
    settings: Settings, session: Session, app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    _world(session)
    env = {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "REDIS_NAMESPACE": settings.redis_namespace,
    }
    out = tmp_path / "t.csv"
    args = ["export", "timesheets", "--from", "2026-06-01", "--to", "2026-06-30", "--format"]
    result = CliRunner().invoke(main, [*args, "csv", "--out", str(out), "--as", "fin1"], env=env)
    assert result.exit_code == 0, result.output
    rows = _csv(out.read_bytes())
    assert rows[0] == [
        "日期",
        "员工账号",
        "员工",
        "项目编号",
        "订单编号",
        "客户",
        "工时",
        "计费",
        "内容",
    ]
    assert rows[1:] == [
        ["2026-06-03", "d1", "D1", "P-SO-T1", "SO-T1", "客户-SO-T1", "2.50", "是", "需求访谈"],
        ["2026-06-04", "d1", "D1", "P-SO-T1", "SO-T1", "客户-SO-T1", "8.00", "否", ""],
    ]
    api = ApiClient(app, client)
    fin = api.as_(api.login("fin1"))
    res = fin.get("/exports/timesheets?from=2026-06-01&to=2026-07-31&format=csv")
    assert res.status_code == 200 and len(_csv(res.data)) == 4
    assert (
        api.as_(api.login("d1"))
        .get("/exports/timesheets?from=2026-06-01&to=2026-06-30")
        .status_code
        == 403
    )


def test_journal_uses_the_configured_account_codes(session: Session, tmp_path: Path) -> None:
    owner, fin = staff(session, "s1", "sales"), staff(session, "fin1", "finance")
    import_config(
        session,
        {"reporting": {"journal_accounts": {"receivable": "112201", "bank": "100201"}}},
    )
    o = order_with_contract(
        session,
        owner=owner,
        amount="1060.00",
        number="SO-J1",
        signed=date(2026, 6, 2),
        terms=[{"amount": "1060.00", "trigger": "on_date", "date": "2026-06-10"}],
    )
    generate_plan(session, contract=contract_of(o), order=o)
    session.flush()
    inst = session.scalars(select(Installment)).one()
    with clock.frozen(NOW):
        issue_invoice(session, actor=fin, installment_id=inst.id, issue_date=date(2026, 6, 5))
        record_receipt(
            session, actor=fin, number="SO-J1", amount="500.00", received_on=date(2026, 6, 20)
        )
    path = tmp_path / "j.csv"
    export(
        session,
        actor=fin,
        kind="journal",
        date_from=date(2026, 6, 1),
        date_to=date(2026, 6, 30),
        fmt="csv",
        path=path,
    )
    codes = [(r[4], r[5]) for r in _csv(path.read_bytes())[1:]]
    assert codes == [
        ("112201", "应收账款"),
        ("6001", "主营业务收入"),  # not configured: the default
        ("22210106", "应交税费-应交增值税(销项税额)"),
        ("100201", "银行存款"),
        ("112201", "应收账款"),
    ]


def test_cli_binds_the_management_group(settings: Settings, session: Session) -> None:
    env = {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "REDIS_NAMESPACE": settings.redis_namespace,
    }
    args = ["reports", "bind-management", "webhook", "robot-key-9", "--name", "管理层"]
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 0, result.output
    assert "已设为管理群:管理层(webhook)" in result.output
    again = CliRunner().invoke(main, args, env=env)  # binding twice changes nothing
    assert again.exit_code == 0
    [group] = management_groups(session)
    assert (group.kind, group.chat_id, group.audience) == ("webhook", "robot-key-9", "management")
    assert len(session.scalars(select(ChatBinding)).all()) == 1
    bad = CliRunner().invoke(main, ["reports", "bind-management", "bot_group", "x"], env=env)
    assert bad.exit_code != 0
