from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session

from orderdesk.core.errors import ValidationFailed
from orderdesk.models import Activity, Installment
from orderdesk.money.plans import (
    compute_amounts,
    generate_plan,
    on_milestone_accepted,
    parse_terms,
)
from orderdesk.runtime import Runtime
from tests.money_world import contract_of, order_with_contract, project_for, staff

D = Decimal


def pct(*values: str) -> list[dict[str, Any]]:
    return [
        {"name": f"第{i}期", "percent": v, "trigger": "on_signing"} for i, v in enumerate(values)
    ]


@pytest.mark.parametrize(
    ("total", "terms", "expected"),
    [
        ("100.00", pct("33.3333", "33.3333", "33.3334"), ["33.33", "33.33", "33.34"]),
        ("5.47", pct("33.3333", "33.3333", "33.3334"), ["1.82", "1.82", "1.83"]),
        ("0.01", pct("50", "50"), ["0.01", "0.00"]),
        ("0.05", pct("50", "50"), ["0.03", "0.02"]),  # half-up: 0.025 -> 0.03
        ("1000.00", pct("30", "70"), ["300.00", "700.00"]),
        # fixed first, percents of the remainder (1000 - 100 = 900)
        (
            "1000.00",
            [{"amount": "100.00"}, {"percent": "33.3333"}, {"percent": "66.6667"}],
            ["100.00", "300.00", "600.00"],
        ),
        (
            "10.00",
            [{"percent": "33.3333"}, {"amount": "1.00"}, {"percent": "66.6667"}],
            ["3.00", "1.00", "6.00"],
        ),
        ("10.00", [{"amount": "4.00"}, {"amount": "6.00"}], ["4.00", "6.00"]),
    ],
)
def test_rounding_table(total: str, terms: list[dict[str, Any]], expected: list[str]) -> None:
    amounts = compute_amounts(D(total), parse_terms(terms))
    assert amounts == [D(e) for e in expected]
    assert sum(amounts) == D(total)


@pytest.mark.parametrize(
    ("total", "terms", "needle"),
    [
        ("100.00", pct("30", "60"), "应为 100%"),
        ("100.00", pct("30", "80"), "应为 100%"),
        ("100.00", [{"percent": "-10"}, {"percent": "110"}], "不能为负数"),
        ("100.00", [{"amount": "120.00"}, {"percent": "100"}], "超过合同金额"),
        ("100.00", [{"amount": "60.00"}, {"amount": "30.00"}], "不等于合同金额"),
        ("100.00", [{"amount": "60.00", "percent": "10"}], "只能填写比例或固定金额之一"),
        ("100.00", [{"percent": 100.0}], "不能是浮点数"),
        ("100.00", [{"percent": "abc"}], "不是有效数字"),
        ("100.00", [{"percent": "100", "trigger": "someday"}], "触发方式未知"),
        ("100.00", [{"percent": "100", "trigger": "on_milestone"}], "里程碑"),
        ("100.00", [], "没有付款条款"),
    ],
)
def test_bad_terms_are_refused(total: str, terms: list[dict[str, Any]], needle: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        compute_amounts(D(total), parse_terms(terms))
    assert needle in err.value.message


def test_generate_is_idempotent_and_dates_follow_triggers(rt: Runtime, session: Session) -> None:
    owner = staff(session, "sales1", "sales")
    terms: list[dict[str, Any]] = [
        {"name": "首付款", "percent": "30", "trigger": "on_signing", "days": 7},
        {"name": "进度款", "amount": "100.00", "trigger": "on_date", "date": "2026-03-01"},
        {"name": "上线款", "percent": "30", "trigger": "after_event", "event": "delivered"},
        {
            "name": "验收款",
            "percent": "40",
            "trigger": "on_milestone",
            "milestone": "验收",
            "days": 15,
        },
    ]
    order = order_with_contract(session, owner=owner, amount="1100.00", terms=terms)
    plan = generate_plan(session, contract=contract_of(order), order=order)
    session.commit()
    again = generate_plan(session, contract=contract_of(order), order=order)
    assert again.id == plan.id
    insts = sorted(plan.installments, key=lambda i: i.sequence)
    assert [i.amount for i in insts] == [D("300.00"), D("100.00"), D("300.00"), D("400.00")]
    assert insts[0].due_date == date(2026, 1, 8)
    assert insts[1].due_date == date(2026, 3, 1)
    assert insts[2].due_date is None and insts[3].due_date is None
    assert session.query(Installment).count() == 4
    assert session.query(Activity).filter_by(kind="payment").count() == 1


def test_milestone_acceptance_sets_due_date_in_company_tz(rt: Runtime, session: Session) -> None:
    owner = staff(session, "sales1", "sales")
    terms: list[dict[str, Any]] = [
        {"name": "首付款", "percent": "50", "trigger": "on_signing"},
        {
            "name": "验收款",
            "percent": "50",
            "trigger": "on_milestone",
            "milestone": "验收",
            "days": 15,
        },
    ]
    order = order_with_contract(session, owner=owner, terms=terms)
    plan = generate_plan(session, contract=contract_of(order), order=order)
    project = project_for(session, order)
    ms = project.milestones[0]
    # 2026-04-30 17:00 UTC is already 2026-05-01 in Shanghai.
    ms.accepted_at = datetime(2026, 4, 30, 17, 0, tzinfo=UTC)
    ms.status = "accepted"
    changed = on_milestone_accepted(session, ms)
    assert [c.name for c in changed] == ["验收款"]
    last = plan.installments[-1]
    assert last.due_date == date(2026, 5, 16)
    assert last.milestone_id == ms.id and last.status == "due"
    assert on_milestone_accepted(session, ms) == []  # a second call changes nothing


def test_changed_contract_regenerates_unpaid_part_and_keeps_paid(
    rt: Runtime, session: Session
) -> None:
    owner = staff(session, "sales1", "sales")
    order = order_with_contract(session, owner=owner, amount="1000.00", terms=pct("30", "30", "40"))
    plan = generate_plan(session, contract=contract_of(order), order=order)
    first = plan.installments[0]
    first.paid_amount = D("300.00")
    first.status = "paid"
    session.flush()
    contract_of(order).amount = D("2000.00")
    contract_of(order).payment_terms = pct("30", "20", "50")
    plan = generate_plan(session, contract=contract_of(order), order=order)
    insts = sorted(plan.installments, key=lambda i: i.sequence)
    assert insts[0].id == first.id and insts[0].amount == D("300.00")
    # the remaining 1700 is spread over the new 20/50 terms (400:1000) -> 485.71 / 1214.29
    assert [i.amount for i in insts[1:]] == [D("485.71"), D("1214.29")]
    assert sum(i.amount for i in insts) == D("2000.00") == plan.total

    contract_of(order).amount = D("200.00")
    with pytest.raises(ValidationFailed, match="低于已收款"):
        generate_plan(session, contract=contract_of(order), order=order)


def test_after_event_installment_is_due_days_after_the_order_status(
    rt: Runtime, session: Session
) -> None:
    from orderdesk.core import clock
    from orderdesk.orders.states import apply_status

    owner = staff(session, "sales1", "sales")
    terms: list[dict[str, Any]] = [
        {"name": "首付款", "percent": "50", "trigger": "on_signing"},
        {
            "name": "交付款",
            "percent": "50",
            "trigger": "after_event",
            "event": "delivered",
            "days": 10,
        },
    ]
    order = order_with_contract(session, owner=owner, terms=terms)
    plan = generate_plan(session, contract=contract_of(order), order=order)
    with clock.frozen(datetime(2026, 7, 1, 18, 0, tzinfo=UTC)):  # 02:00 on 07-02 in Shanghai
        apply_status(session, order, "delivered", owner)
    assert plan.installments[1].due_date == date(2026, 7, 12)
    assert plan.installments[1].status == "due"
