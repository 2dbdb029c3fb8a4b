"""Reports (issue 13): AR aging in six buckets and revenue by month x line, against figures
computed by hand on a small fixed data set, scoped by the caller; the aging grand total against
the outstanding installments on the demo company and on random data; the API and its workbook."""

from __future__ import annotations

import io
import random
import zipfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.core.errors import NotFound, ValidationFailed
from orderdesk.demo.company import load_demo
from orderdesk.miniapp_api.views_reports import XLSX
from orderdesk.models import BusinessLine, Installment, Staff
from orderdesk.money.collections import OPEN_STATUSES
from orderdesk.money.invoices import issue_invoice
from orderdesk.money.ledger import check_ledger
from orderdesk.money.plans import generate_plan
from orderdesk.money.receipts import record_receipt
from orderdesk.reports.aging import ar_aging
from orderdesk.reports.months import parse_period
from orderdesk.reports.revenue import revenue_by_month
from orderdesk.reports.service import run_report
from orderdesk.runtime import Runtime
from tests.api_support import ApiClient
from tests.money_world import contract_of, order_with_contract, staff

D = Decimal
AS_OF = date(2026, 6, 30)
NOW = datetime(2026, 6, 30, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


def _dated(amounts: list[str], days: list[date]) -> list[dict[str, str]]:
    return [
        {"amount": a, "trigger": "on_date", "date": d.isoformat()}
        for a, d in zip(amounts, days, strict=True)
    ]


@pytest.fixture
def small(session: Session) -> dict[str, Staff]:
    """SO-1 (sa, line 实施) 6 x 100, one per aging bucket; SO-2 (sb, no line) 1 x 50, 200 days."""
    mgr = staff(session, "mgr1", "manager")
    a = staff(session, "sa", "sales", manager=mgr)
    b = staff(session, "sb", "sales")
    fin = staff(session, "fin1", "finance")
    line = BusinessLine(code="impl", name="实施")
    session.add(line)
    # due: +5 (not due), 20, 51, 76, 121, 200 days before 2026-06-30
    days = [AS_OF - timedelta(days=n) for n in (-5, 20, 51, 76, 121, 200)]
    o1 = order_with_contract(
        session,
        owner=a,
        amount="600.00",
        number="SO-1",
        line=line,
        signed=date(2026, 5, 10),
        terms=_dated(["100.00"] * 6, days),
    )
    o2 = order_with_contract(
        session,
        owner=b,
        amount="50.00",
        number="SO-2",
        signed=date(2026, 6, 2),
        terms=_dated(["50.00"], days[-1:]),
    )
    for o in (o1, o2):
        generate_plan(session, contract=contract_of(o), order=o)
    session.flush()
    return {"mgr": mgr, "a": a, "b": b, "fin": fin}


def test_aging_six_buckets_groupings_and_scope(session: Session, small: dict[str, Staff]) -> None:
    fin = small["fin"]
    table = ar_aging(session, actor=fin, as_of=AS_OF, by="customer")
    assert [r["label"] for r in table.rows] == ["客户-SO-1", "客户-SO-2"]
    one = table.rows[0]
    buckets = ("not_due", "d1_30", "d31_60", "d61_90", "d91_180", "d180_plus")
    assert [one[k] for k in buckets] == [D("100.00")] * 6
    assert table.rows[1]["d180_plus"] == D("50.00") and table.rows[1]["total"] == D("50.00")
    assert table.totals["total"] == D("650.00") and table.totals["d180_plus"] == D("150.00")

    by_line = ar_aging(session, actor=fin, as_of=AS_OF, by="business_line")
    assert {r["label"]: r["total"] for r in by_line.rows} == {"实施": D("600"), "未分类": D("50")}
    by_owner = ar_aging(session, actor=fin, as_of=AS_OF, by="owner")
    assert {r["label"]: r["total"] for r in by_owner.rows} == {"SA": D("600"), "SB": D("50")}
    # Edges: exactly 30 days is still 1-30, exactly 180 days still 91-180.
    edge = ar_aging(session, actor=fin, as_of=AS_OF - timedelta(days=10), by="customer")
    assert edge.rows[0]["d1_30"] == D("100.00")  # due 20 days before AS_OF: 10 days then
    assert edge.rows[0]["not_due"] == D("100.00")
    # Scope: the owner sees their own, the manager their report's, another sales nothing else.
    assert [r["label"] for r in ar_aging(session, actor=small["b"], as_of=AS_OF).rows] == [
        "客户-SO-2"
    ]
    assert [r["label"] for r in ar_aging(session, actor=small["mgr"], as_of=AS_OF).rows] == [
        "客户-SO-1"
    ]
    with pytest.raises(ValidationFailed):
        run_report(session, actor=fin, name="ar-aging", group_by="planet")
    with pytest.raises(NotFound):
        run_report(session, actor=fin, name="secrets")


def test_revenue_by_month_and_line_hand_computed(
    rt: Runtime, session: Session, small: dict[str, Staff]
) -> None:
    fin, a = small["fin"], small["a"]
    first = session.scalars(
        select(Installment).order_by(Installment.due_date).limit(1)
    ).one()  # SO-1's 100.00 due 2025-12-12
    with clock.frozen(NOW):
        issue_invoice(session, actor=fin, installment_id=first.id, issue_date=date(2026, 6, 3))
        record_receipt(session, actor=fin, number="SO-1", amount="250.00", received_on=AS_OF)
        record_receipt(session, actor=fin, number="SO-2", amount="20.00", received_on=AS_OF)
    session.flush()
    assert check_ledger(session) == []

    start, end = parse_period("2026Q2")
    table = revenue_by_month(session, actor=fin, start=start, end=end, title="Q2")
    rows = {(r["month"], r["business_line"]): r for r in table.rows}
    # Bookings: SO-1 signed in May (实施), SO-2 in June (未分类).
    assert rows[("2026-05", "实施")]["bookings"] == D("600.00")
    assert rows[("2026-06", "未分类")]["bookings"] == D("50.00")
    june = rows[("2026-06", "实施")]
    assert june["invoiced"] == D("100.00")
    assert june["collected"] == D("250.00")  # oldest first: 100 + 100 + 50
    # SO-1's installment due in June: 2026-06-10 (20 days before AS_OF), 100.00
    assert june["due"] == D("100.00") and june["collection_rate"] == D("2.5000")
    assert rows[("2026-06", "未分类")]["collected"] == D("20.00")
    assert table.totals["collected"] == D("270.00")
    # The owner of SO-2 sees none of SO-1's figures.
    mine = revenue_by_month(session, actor=small["b"], start=start, end=end, title="Q2")
    assert {r["business_line"] for r in mine.rows} == {"未分类"}
    assert mine.totals["bookings"] == D("50.00") and mine.totals["collected"] == D("20.00")
    assert revenue_by_month(session, actor=a, start=start, end=end, title="x").totals[
        "bookings"
    ] == D("600.00")
    with pytest.raises(ValidationFailed):
        parse_period("2026-13")


def _outstanding_total(session: Session) -> Decimal:
    stmt = select(func.coalesce(func.sum(Installment.amount - Installment.paid_amount), 0)).where(
        Installment.status.in_(OPEN_STATUSES), Installment.due_date.is_not(None)
    )
    return D(session.scalar(stmt)).quantize(D("0.01"))


def test_aging_total_equals_outstanding_on_demo_data(rt: Runtime, session: Session) -> None:
    load_demo(session, seed=1, tz=rt.settings.tz)
    session.flush()
    gm = session.scalars(select(Staff).where(Staff.userid == "chenjianguo")).one()
    for by in ("customer", "owner", "business_line"):
        table = ar_aging(session, actor=gm, as_of=clock.today(rt.settings.tz), by=by)
        assert table.totals["total"] == _outstanding_total(session) > 0
    assert check_ledger(session) == []


def _random_orders(
    session: Session, rnd: random.Random, *, owner: Staff, fin: Staff, prefix: str, count: int
) -> None:
    """`count` orders of `owner` with 1-5 dated installments around AS_OF, every third paid in
    part: random data whose aging must still add up."""
    with clock.frozen(NOW):
        for n in range(count):
            k = rnd.randint(1, 5)
            days = [AS_OF - timedelta(days=rnd.randint(-90, 400)) for _ in range(k)]
            amounts = [f"{rnd.randint(1, 99999)}.{rnd.randint(0, 99):02d}" for _ in range(k)]
            o = order_with_contract(
                session,
                owner=owner,
                amount=str(sum(D(a) for a in amounts)),
                number=f"{prefix}{n}",
                terms=_dated(amounts, days),
            )
            generate_plan(session, contract=contract_of(o), order=o)
            if n % 3 == 0:
                paid = D(rnd.randint(1, int(o.amount))).quantize(D("0.01"))
                record_receipt(session, actor=fin, number=o.number, amount=paid)
        session.flush()


def test_aging_total_equals_outstanding_on_random_data(session: Session) -> None:
    fin = staff(session, "finr", "finance")
    owner = staff(session, "sr", "sales")
    _random_orders(session, random.Random(13), owner=owner, fin=fin, prefix="SO-R", count=25)
    assert check_ledger(session) == []
    table = ar_aging(session, actor=fin, as_of=AS_OF, by="customer")
    assert table.totals["total"] == _outstanding_total(session)
    assert sum((r["total"] for r in table.rows), D(0)) == table.totals["total"]


@pytest.fixture
def api(app: Flask, client: FlaskClient) -> ApiClient:
    return ApiClient(app, client)


def test_report_api_json_xlsx_and_bad_input(
    api: ApiClient, session: Session, small: dict[str, Staff]
) -> None:
    session.commit()
    fin = api.as_(api.login("fin1"))
    res = fin.get("/reports/ar-aging?as_of=2026-06-30&group_by=owner")
    assert res.status_code == 200, res.get_json()
    body = res.get_json()
    assert body["totals"]["total"] == "650.00"
    assert {r["label"]: r["total"] for r in body["rows"]} == {"SA": "600.00", "SB": "50.00"}

    res = fin.get("/reports/ar-aging?as_of=2026-06-30&format=xlsx")
    assert res.status_code == 200 and res.mimetype == XLSX
    with zipfile.ZipFile(io.BytesIO(res.data)) as book:
        sheet = "".join(book.read(n).decode() for n in book.namelist() if n.startswith("xl/"))
    assert "客户-SO-1" in sheet and "合计" in sheet and "180天以上" in sheet

    res = fin.get("/reports/revenue?period=2026Q2&format=png")
    assert res.status_code == 200 and res.mimetype == "image/png" and res.data[:4] == b"\x89PNG"
    res = fin.get("/reports/ar-aging?format=svg")
    assert res.status_code == 200 and res.mimetype == "image/svg+xml"

    sb = api.as_(api.login("sb"))
    assert sb.get("/reports/ar-aging?as_of=2026-06-30").get_json()["totals"]["total"] == "50.00"
    assert sb.get("/reports/revenue?period=2026Q2").status_code == 200
    assert fin.get("/reports/revenue?period=2026-13").status_code == 422
    assert fin.get("/reports/ar-aging?as_of=2026-02-30").status_code == 422
    assert fin.get("/reports/ar-aging?color=red").status_code == 422
    assert fin.get("/reports/nope").status_code == 404


# perf13: the aging's scope is a WHERE on orders; finance (everything) and the owner and their
# manager (scoped) must get the same figures for the same orders, bucket by bucket.
def test_aging_whole_company_and_scoped_paths_agree(session: Session) -> None:
    fin = staff(session, "finp", "finance")
    mgr = staff(session, "mgrp", "manager")
    owner = staff(session, "sp", "sales", manager=mgr)
    _random_orders(session, random.Random(1313), owner=owner, fin=fin, prefix="SO-P", count=12)
    for by in ("customer", "owner", "business_line"):
        whole = ar_aging(session, actor=fin, as_of=AS_OF, by=by)
        for scoped_actor in (owner, mgr):
            scoped = ar_aging(session, actor=scoped_actor, as_of=AS_OF, by=by)
            assert scoped.rows == whole.rows and scoped.totals == whole.totals
    assert whole.totals["total"] == _outstanding_total(session) > 0
