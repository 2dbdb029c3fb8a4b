"""Reports of issue 13, part 2, against figures computed by hand on a small fixed data set:
project profitability, utilisation (a month with public holidays and a make-up working day),
pipeline and win rate, the sales leaderboard, collection rate and DSO; each scoped by caller;
and the same tables through `GET /api/v1/reports/{name}` (JSON and xlsx)."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from orderdesk.config import reporting
from orderdesk.config.yaml_io import export_config, import_config
from orderdesk.core import clock
from orderdesk.core.errors import ValidationFailed
from orderdesk.miniapp_api.views_reports import XLSX
from orderdesk.models import (
    BusinessLine,
    Customer,
    Department,
    Opportunity,
    ProjectExpense,
    Staff,
    TimeEntry,
)
from orderdesk.money.invoices import issue_invoice
from orderdesk.money.ledger import check_ledger
from orderdesk.money.plans import generate_plan
from orderdesk.money.receipts import record_receipt
from orderdesk.reports.service import REPORTS, run_report
from tests.api_support import ApiClient
from tests.money_world import contract_of, order_with_contract, project_for, staff

D = Decimal
NOW = datetime(2026, 6, 30, 4, 0, tzinfo=UTC)


def _hours(session: Session, who: Staff, project_id: int, day: date, hours: str) -> None:
    session.add(TimeEntry(staff=who, project_id=project_id, work_date=day, hours=D(hours)))


@pytest.fixture
def world(session: Session) -> dict[str, Staff]:
    """SO-P1 (sa, 实施): 10,600.00 incl. 6% VAT, 40 budgeted hours; 10 h by d1 (role rate
    100), 5.5 h by d2 (own rate 150); expenses 320 + 180. SO-P2 (sb, no line): 5,300.00,
    2 h by d1. Rates: delivery 100, pm 200 (d2's own 150 wins)."""
    dept = Department(name="交付中心")
    mgr = staff(session, "mgr1", "manager")
    a = staff(session, "sa", "sales", manager=mgr)
    b = staff(session, "sb", "sales")
    fin = staff(session, "fin1", "finance")
    d1 = staff(session, "d1", "delivery", department=dept)
    d2 = staff(session, "d2", "pm", department=dept)
    d2.hourly_cost_rate = D("150.00")
    line = BusinessLine(code="impl", name="实施")
    session.add_all([dept, line])
    reporting.save(
        session, {"hours_per_day": "8", "role_cost_rates": {"delivery": "100", "pm": "200"}}
    )
    o1 = order_with_contract(session, owner=a, amount="10600.00", number="SO-P1", line=line)
    o2 = order_with_contract(session, owner=b, amount="5300.00", number="SO-P2")
    p1, p2 = project_for(session, o1), project_for(session, o2)
    p1.budget_hours = D("40")
    _hours(session, d1, p1.id, date(2026, 5, 6), "10")
    _hours(session, d2, p1.id, date(2026, 5, 7), "5.5")
    _hours(session, d1, p2.id, date(2026, 5, 9), "2")  # 9 May 2026: a make-up working Saturday
    for category, amount in (("交通", "320.00"), ("住宿", "180.00")):
        session.add(
            ProjectExpense(
                project_id=p1.id, category=category, amount=D(amount), spent_on=date(2026, 5, 8)
            )
        )
    session.flush()
    return {"mgr": mgr, "a": a, "b": b, "fin": fin, "d1": d1, "d2": d2}


def test_profitability_per_project_and_line_hand_computed(
    session: Session, world: dict[str, Staff]
) -> None:
    table = run_report(session, actor=world["fin"], name="profitability")
    rows = {r["code"]: r for r in table.rows}
    p1 = rows["P-SO-P1"]
    assert p1["revenue"] == D("10000.00")  # 10,600 / 1.06
    assert p1["labour_cost"] == D("1825.00")  # 10 x 100 + 5.5 x 150
    assert p1["expenses"] == D("500.00")
    assert p1["margin"] == D("7675.00") and p1["margin_rate"] == D("0.7675")
    assert p1["budget_hours"] == D("40.00") and p1["logged_hours"] == D("15.50")
    p2 = rows["P-SO-P2"]
    assert (p2["revenue"], p2["labour_cost"], p2["margin"]) == (D("5000"), D("200"), D("4800"))
    assert table.totals["margin"] == D("12475.00")
    by_line = run_report(
        session, actor=world["fin"], name="profitability", group_by="business_line"
    )
    assert {r["label"]: r["margin"] for r in by_line.rows} == {
        "实施": D("7675.00"),
        "未分类": D("4800.00"),
    }
    one = run_report(session, actor=world["fin"], name="profitability", project="p-so-p1")
    assert [r["code"] for r in one.rows] == ["P-SO-P1"] and "P-SO-P1" in one.title
    # Scope: the owner sees their own project, another salesperson's is not there.
    mine = run_report(session, actor=world["a"], name="profitability")
    assert [r["code"] for r in mine.rows] == ["P-SO-P1"]
    assert run_report(session, actor=world["b"], name="profitability", project="P-SO-P1").rows == []
    with pytest.raises(ValidationFailed):
        run_report(session, actor=world["fin"], name="profitability", group_by="planet")


def test_utilisation_counts_the_official_holidays_of_the_month(
    session: Session, world: dict[str, Staff]
) -> None:
    # May 2026: 21 weekdays - 1, 4, 5 May (Labour Day) + Saturday 9 May (调休) = 19 days.
    table = run_report(
        session, actor=world["fin"], name="utilisation", period="2026-05", as_of=date(2026, 6, 30)
    )
    assert table.meta["working_days"] == 19 and "19 个工作日" in table.title
    rows = {r["label"]: r for r in table.rows}
    assert rows["D1"]["available"] == D("152.00")  # 19 x 8
    assert rows["D1"]["logged"] == D("12.00") and rows["D1"]["utilisation"] == D("0.0789")
    assert rows["D2"]["logged"] == D("5.50") and rows["D2"]["utilisation"] == D("0.0362")
    assert set(rows) == {"D1", "D2"}  # sales without hours are not delivery staff
    dept = run_report(
        session,
        actor=world["fin"],
        name="utilisation",
        period="2026-05",
        group_by="department",
        as_of=date(2026, 6, 30),
    )
    assert dept.rows[0]["label"] == "交付中心" and dept.rows[0]["available"] == D("304.00")
    assert dept.rows[0]["utilisation"] == D("0.0576")  # 17.5 / 304
    # Mid-month: available hours up to as_of (1-6 May: 2 working days, 4th and 5th are holidays).
    early = run_report(
        session, actor=world["fin"], name="utilisation", period="2026-05", as_of=date(2026, 5, 6)
    )
    assert early.meta["working_days"] == 1
    # Scope: a delivery engineer sees only themselves.
    own = run_report(session, actor=world["d1"], name="utilisation", period="2026-05")
    assert [r["label"] for r in own.rows] == ["D1"]


def test_pipeline_and_win_rate(session: Session, world: dict[str, Staff]) -> None:
    cust = Customer(name="漏斗客户", owner=world["a"])
    session.add(cust)
    for stage, amount, owner in (
        ("lead", "1000.00", "a"),
        ("proposal", "2000.00", "a"),
        ("won", "3000.00", "a"),
        ("won", "1000.00", "b"),
        ("lost", "4000.00", "a"),
    ):
        session.add(
            Opportunity(
                customer=cust,
                title=f"{stage}-{amount}",
                stage=stage,
                expected_amount=D(amount),
                owner=world[owner],
            )
        )
    session.flush()
    table = run_report(session, actor=world["fin"], name="pipeline")
    by_stage = {r["stage"]: r for r in table.rows}
    assert [r["stage"] for r in table.rows][:2] == ["lead", "qualified"]
    assert by_stage["won"]["count"] == 2 and by_stage["won"]["expected_amount"] == D("4000.00")
    assert table.totals["win_rate"] == D("0.6667")  # 2 won / (2 won + 1 lost)
    assert table.totals["win_rate_amount"] == D("0.5000")  # 4,000 / 8,000
    assert table.totals["open_amount"] == D("3000.00")
    mine = run_report(session, actor=world["a"], name="pipeline")
    assert mine.totals["win_rate"] == D("0.5000") and mine.totals["count"] == 4


def test_leaderboard_collection_rate_and_dso(session: Session, world: dict[str, Staff]) -> None:
    fin = world["fin"]
    terms = [{"amount": "1000.00", "trigger": "on_date", "date": "2026-06-10"}]
    o3 = order_with_contract(
        session,
        owner=world["a"],
        amount="1000.00",
        number="SO-L1",
        signed=date(2026, 6, 1),
        terms=terms,
    )
    o4 = order_with_contract(
        session,
        owner=world["b"],
        amount="3000.00",
        number="SO-L2",
        signed=date(2026, 6, 2),
        terms=[{"amount": "3000.00", "trigger": "on_date", "date": "2026-07-10"}],
    )
    for o in (o3, o4):
        generate_plan(session, contract=contract_of(o), order=o)
    session.flush()
    with clock.frozen(NOW):
        inst = contract_of(o3).payment_plan.installments[0]  # type: ignore[union-attr]
        issue_invoice(session, actor=fin, installment_id=inst.id, issue_date=date(2026, 6, 11))
        record_receipt(
            session, actor=fin, number="SO-L1", amount="400.00", received_on=date(2026, 6, 20)
        )
    session.flush()
    assert check_ledger(session) == []
    board = run_report(session, actor=fin, name="leaderboard", period="2026-06")
    assert [(r["rank"], r["label"], r["bookings"], r["collected"]) for r in board.rows] == [
        (1, "SB", D("3000.00"), D("0.00")),
        (2, "SA", D("1000.00"), D("400.00")),
    ]
    table = run_report(session, actor=fin, name="collection", period="2026-06")
    june = table.rows[0]
    assert (june["due"], june["collected"], june["collection_rate"]) == (
        D("1000.00"),
        D("400.00"),
        D("0.4000"),
    )
    # Receivable at the end of June: 600 still open; invoiced 1,000; 30 days -> DSO 18.0.
    assert june["receivable"] == D("600.00") and june["dso"] == D("18.0")
    theirs = run_report(session, actor=world["b"], name="collection", period="2026-06")
    assert theirs.totals["collected"] == 0 and theirs.totals["receivable"] == 0  # not SO-L1


def test_reporting_config_round_trips_through_the_yaml(session: Session) -> None:
    data = {"reporting": {"hours_per_day": "7.5", "journal_accounts": {"bank": "100201"}}}
    import_config(session, data)
    cfg = reporting.load(session)
    assert cfg.hours_per_day == D("7.5") and cfg.journal_accounts["bank"] == "100201"
    assert cfg.journal_accounts["receivable"] == "1122"  # defaults stay
    assert export_config(session)["reporting"]["hours_per_day"] == "7.5"
    with pytest.raises(ValidationFailed) as bad:
        import_config(session, {"reporting": {"hours_per_day": "30", "role_cost_rates": {"x": 1}}})
    assert "reporting.hours_per_day" in bad.value.fields
    assert "reporting.role_cost_rates.x" in bad.value.fields


@pytest.fixture
def api(app: Flask, client: FlaskClient) -> ApiClient:
    return ApiClient(app, client)


def test_every_registered_report_through_the_api(
    rt: object, session: Session, world: dict[str, Staff], api: ApiClient
) -> None:
    session.commit()
    fin = api.as_(api.login("fin1"))
    for name in REPORTS:
        resp = fin.get(f"/reports/{name}")
        assert resp.status_code == 200, (name, resp.get_json())
        assert resp.get_json()["name"] == name
    resp = fin.get("/reports/profitability?group_by=business_line")
    assert {r["label"]: r["margin"] for r in resp.get_json()["rows"]}["实施"] == "7675.00"
    book = fin.get("/reports/profitability?format=xlsx")
    assert book.status_code == 200 and book.mimetype == XLSX
    shared = zipfile.ZipFile(io.BytesIO(book.data)).read("xl/sharedStrings.xml").decode()
    assert "合同额(不含税)" in shared and "P-SO-P1" in shared
    assert fin.get("/reports/utilisation?group_by=owner").status_code == 422
