from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from orderdesk.core.errors import ValidationFailed
from orderdesk.models import BusinessLine
from orderdesk.money.aging import aging, bucket_for
from orderdesk.money.plans import generate_plan
from orderdesk.runtime import Runtime
from tests.money_world import contract_of, order_with_contract, staff

D = Decimal
AS_OF = date(2026, 6, 30)


@pytest.mark.parametrize(
    ("days", "bucket"),
    [
        (-5, "not_due"),
        (0, "not_due"),
        (1, "d1_30"),
        (30, "d1_30"),
        (31, "d31_60"),
        (60, "d31_60"),
        (61, "d61_90"),
        (90, "d61_90"),
        (91, "d90_plus"),
    ],
)
def test_bucket_edges(days: int, bucket: str) -> None:
    assert bucket_for(days) == bucket


def test_aging_by_customer_owner_and_line(rt: Runtime, session: Session) -> None:
    mgr = staff(session, "mgr1", "manager")
    a = staff(session, "sa", "sales", manager=mgr)
    b = staff(session, "sb", "sales")
    fin = staff(session, "fin1", "finance")
    line = BusinessLine(code="impl", name="实施")
    session.add(line)

    def dated(*days: str) -> list[dict[str, str]]:
        share = D(100) / len(days)
        out = [{"percent": str(share), "trigger": "on_date", "date": d} for d in days]
        return out

    # SO-1 (sa, line): 4 x 250 due 2026-07-05 (not due), 06-10 (20d), 05-10 (51d), 03-01 (121d)
    o1 = order_with_contract(
        session,
        owner=a,
        amount="1000.00",
        number="SO-1",
        line=line,
        terms=dated("2026-07-05", "2026-06-10", "2026-05-10", "2026-03-01"),
    )
    # SO-2 (sb, no line): 2 x 50 due 2026-04-15 (76d) and one milestone installment (undated)
    o2 = order_with_contract(
        session,
        owner=b,
        amount="150.00",
        number="SO-2",
        terms=[
            {"amount": "100.00", "trigger": "on_date", "date": "2026-04-15"},
            {"percent": "100", "trigger": "on_milestone", "milestone": "验收"},
        ],
    )
    for o in (o1, o2):
        generate_plan(session, contract=contract_of(o), order=o)
    session.flush()

    rows = aging(session, actor=fin, by="customer", as_of=AS_OF)
    assert [r.label for r in rows] == ["客户-SO-1", "客户-SO-2"]
    assert rows[0].buckets == {
        "not_due": D("250.00"),
        "d1_30": D("250.00"),
        "d31_60": D("250.00"),
        "d61_90": D("0.00"),
        "d90_plus": D("250.00"),
    }
    assert rows[1].buckets["d61_90"] == D("100.00") and rows[1].total == D("100.00")

    by_line = {r.label: r.total for r in aging(session, actor=fin, by="business_line", as_of=AS_OF)}
    assert by_line == {"实施": D("1000.00"), "未分类": D("100.00")}
    by_owner = {r.label: r.total for r in aging(session, actor=fin, by="owner", as_of=AS_OF)}
    assert by_owner == {"SA": D("1000.00"), "SB": D("100.00")}
    # Scope: an owner sees their own, the manager their report's, nobody else's.
    assert [r.label for r in aging(session, actor=b, as_of=AS_OF)] == ["客户-SO-2"]
    assert [r.label for r in aging(session, actor=mgr, as_of=AS_OF)] == ["客户-SO-1"]
    with pytest.raises(ValidationFailed):
        aging(session, actor=fin, by="planet")
