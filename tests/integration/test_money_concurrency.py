"""Money and capacity under real concurrency, through the real API: threads released together by
a barrier, each request in its own session and transaction (PostgreSQL row locks, SQLite's write
lock). After every race the books must balance: `money.ledger.check_ledger` finds nothing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orderdesk.approvals import service as approvals
from orderdesk.directory.staff import get_active_staff
from orderdesk.models import (
    Activity,
    ApprovalAction,
    CreditApplication,
    Installment,
    Order,
    PaymentPlan,
    Receipt,
    ReceiptAllocation,
    Staff,
    TimeEntry,
)
from orderdesk.money import invoices
from orderdesk.money.ledger import check_ledger
from orderdesk.money.plans import generate_plan
from orderdesk.money.receipts import customer_credit, record_receipt, reverse_receipt
from orderdesk.runtime import Runtime
from tests.api_support import ApiClient
from tests.api_world import World, build
from tests.threads import together

THREADS = 20


@pytest.fixture
def world(session: Session) -> World:
    return build(session)


def _race(app: Flask, token: str, calls: list[Callable[[ApiClient], Any]]) -> list[Any]:
    """The API calls at the same moment, each on its own client; no call may raise."""
    clients = [ApiClient(app, app.test_client()).as_(token) for _ in calls]
    results = together([partial(c, api) for c, api in zip(calls, clients, strict=True)])
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors[:3]
    return results


def _statuses(results: list[Any]) -> Counter[int]:
    return Counter(r.status_code for r in results)


def _books_balance(rt: Runtime) -> None:
    with rt.db.transaction() as s:
        assert [v.line() for v in check_ledger(s)] == []


def _installments(rt: Runtime, world: World) -> list[Installment]:
    with rt.db.transaction() as s:
        return list(
            s.scalars(
                select(Installment)
                .join(PaymentPlan, PaymentPlan.id == Installment.plan_id)
                .where(PaymentPlan.order_id == world.o1.id)
                .order_by(Installment.sequence)
            )
        )


def _receipt(amount: str, number: str, *, confirm: bool = True) -> Callable[[ApiClient], Any]:
    """A receipt; confirmed as not a duplicate unless `confirm` is False (the races below
    record the same amount many times on purpose)."""
    body: dict[str, Any] = {"amount": amount}
    if confirm:
        body["confirm_duplicate"] = True
    return lambda api: api.post(f"/orders/{number}/receipts", json=body)


def test_parallel_receipts_for_one_installment(app: Flask, rt: Runtime, world: World) -> None:
    """20 receipts, each the full outstanding amount of the first installment (3000 of 10000):
    the first pays it, the next ones the second installment, the rest become credit."""
    api = ApiClient(app, app.test_client())
    token = api.login("fin")
    first = _installments(rt, world)[0]
    results = _race(app, token, [_receipt("3000.00", world.o1.number)] * THREADS)
    assert _statuses(results) == Counter({201: THREADS})
    _books_balance(rt)
    with rt.db.transaction() as s:
        on_first = s.scalars(
            select(ReceiptAllocation.amount).where(ReceiptAllocation.installment_id == first.id)
        ).all()
        assert on_first == [Decimal("3000.00")]
        credit = s.scalar(select(func.sum(Receipt.credit_amount)))
        assert credit == Decimal("50000.00")
    assert [i.paid_amount for i in _installments(rt, world)] == [
        Decimal("3000.00"),
        Decimal("7000.00"),
    ]


def test_parallel_receipts_over_several_installments(app: Flask, rt: Runtime, world: World) -> None:
    token = ApiClient(app, app.test_client()).login("fin")
    results = _race(app, token, [_receipt("700.00", world.o1.number)] * THREADS)
    assert _statuses(results) == Counter({201: THREADS})
    _books_balance(rt)
    insts = _installments(rt, world)
    assert sum((i.paid_amount for i in insts), Decimal(0)) == Decimal("10000.00")
    assert [i.status for i in insts] == ["paid", "paid"]
    with rt.db.transaction() as s:
        assert s.scalar(select(func.sum(Receipt.credit_amount))) == Decimal("4000.00")


def test_parallel_receipts_and_reversals(rt: Runtime, world: World) -> None:
    """Reversals of five receipts (each asked for twice) race five new receipts (services)."""
    with rt.db.transaction() as s:
        fin = s.merge(world["fin"])
        numbers = [
            record_receipt(
                s, actor=fin, number=world.o1.number, amount="1000.00", confirm_duplicate=True
            ).receipt.number
            for _ in range(5)
        ]

    def reverse(rc: str) -> str:
        with rt.db.transaction() as s:
            actor = get_active_staff(s, "fin")
            reverse_receipt(s, actor=actor, receipt_number=rc, reason="重复登记")
        return "reversed"

    def receive() -> str:
        with rt.db.transaction() as s:
            actor = get_active_staff(s, "fin")
            record_receipt(
                s, actor=actor, number=world.o1.number, amount="1500.00", confirm_duplicate=True
            )
        return "received"

    calls: list[Callable[[], Any]] = [partial(reverse, rc) for rc in numbers * 2]
    results = together(calls + [receive] * 5)
    outcomes = Counter(r if isinstance(r, str) else type(r).__name__ for r in results)
    assert outcomes == Counter({"reversed": 5, "Conflict": 5, "received": 5})
    _books_balance(rt)
    # 7,500 of live money: allocated to installments, or held as customer credit when a receipt
    # ran before the reversals it raced had freed the installments (order total 10,000).
    paid = sum((i.paid_amount for i in _installments(rt, world)), Decimal(0))
    with rt.db.transaction() as s:
        credit = s.scalar(
            select(func.coalesce(func.sum(Receipt.credit_amount), 0)).where(
                Receipt.reversed_at.is_(None)
            )
        )
        assert paid + (credit or 0) == Decimal("7500.00")
        reversed_count = s.scalar(
            select(func.count()).select_from(Receipt).where(Receipt.reversed_at.is_not(None))
        )
        assert reversed_count == 5


def test_parallel_timesheets_for_one_day(app: Flask, rt: Runtime, world: World) -> None:
    """20 entries of 5 h for one person and day: four fit under the 24 h cap, sixteen do not."""
    token = ApiClient(app, app.test_client()).login("dev1")
    code = world.project.code
    call: Callable[[ApiClient], Any] = lambda api: api.post(  # noqa: E731
        f"/projects/{code}/timesheets", json={"hours": "5"}
    )
    results = _race(app, token, [call] * THREADS)
    assert _statuses(results) == Counter({201: 4, 422: THREADS - 4})
    with rt.db.transaction() as s:
        assert s.scalar(select(func.sum(TimeEntry.hours))) == Decimal("20.00")
    _books_balance(rt)


def test_parallel_approvals_one_decision(app: Flask, rt: Runtime, world: World) -> None:
    """The approver double-clicks ten times at once, with a rejection in the middle."""
    with rt.db.transaction() as s:
        request_id = approvals.submit(s, actor=s.merge(world["sales2"]), number=world.o2.number).id
    token = ApiClient(app, app.test_client()).login("mgr1")
    approve: Callable[[ApiClient], Any] = lambda api: api.post(  # noqa: E731
        f"/approvals/{request_id}/approve", json={}
    )
    reject: Callable[[ApiClient], Any] = lambda api: api.post(  # noqa: E731
        f"/approvals/{request_id}/reject", json={"comment": "金额不对"}
    )
    results = _race(app, token, [approve] * 5 + [reject] + [approve] * 4)
    assert _statuses(results) == Counter({200: 1, 409: 9})
    with rt.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(ApprovalAction)) == 1
    _books_balance(rt)


def test_parallel_patch_with_the_same_if_match(app: Flask, rt: Runtime, world: World) -> None:
    token = ApiClient(app, app.test_client()).login("sales2")
    number = world.o2.number
    version = world.o2.version

    def edit(i: int, api: ApiClient) -> Any:
        return api.patch(
            f"/orders/{number}",
            json={"title": f"运维服务 第{i}版"},
            headers={"If-Match": f'"{version}"'},
        )

    calls: list[Callable[[ApiClient], Any]] = [partial(edit, i) for i in range(10)]
    results = _race(app, token, calls)
    assert _statuses(results) == Counter({200: 1, 412: 9})
    winner = next(r for r in results if r.status_code == 200).get_json()
    with rt.db.transaction() as s:
        order = s.scalar(select(Order).where(Order.number == number))
        assert order is not None
        assert (order.version, order.title) == (version + 1, winner["title"])
        edits = s.scalar(
            select(func.count())
            .select_from(Activity)
            .where(Activity.order_id == order.id, Activity.kind == "updated")
        )
        assert edits == 1
    _books_balance(rt)


def _as(rt: Runtime, userid: str, action: Callable[[Session, Staff], Any]) -> Callable[[], Any]:
    """A call that runs `action` for `userid` in its own transaction."""

    def call() -> Any:
        with rt.db.transaction() as s:
            return action(s, get_active_staff(s, userid))

    return call


def test_parallel_invoices_and_voids(rt: Runtime, world: World) -> None:
    """Ten invoices of 2000 on the 3000 installment: one fits. Then two voids of it: one wins."""
    first = _installments(rt, world)[0]

    def issue(s: Session, fin: Staff) -> str:
        return invoices.issue_invoice(
            s,
            actor=fin,
            installment_id=first.id,
            amount="2000",
            kind="paper_special",
            buyer=invoices.Buyer(tax_id="91330100MA2KXXXX0Q"),
        ).number

    results = together([_as(rt, "fin", issue)] * 10)
    issued = [r for r in results if isinstance(r, str)]
    assert len(issued) == 1
    assert Counter(type(r).__name__ for r in results if not isinstance(r, str)) == Counter(
        {"ValidationFailed": 9}
    )

    def void(s: Session, fin: Staff) -> str:
        return invoices.void_invoice(s, actor=fin, number=issued[0], reason="开错").status

    results = together([_as(rt, "fin", void)] * 2)
    assert Counter(r if isinstance(r, str) else type(r).__name__ for r in results) == Counter(
        {"void": 1, "Conflict": 1}
    )
    assert _installments(rt, world)[0].invoiced_amount == Decimal("0.00")
    _books_balance(rt)


def test_plan_regeneration_races_a_receipt(rt: Runtime, world: World) -> None:
    """The contract drops to 8000 while 10000 arrives: whichever goes first, the books hold."""

    def shrink(s: Session, _fin: Staff) -> str:
        order = s.get(Order, world.o1.id)
        assert order is not None and order.contract is not None
        order.contract.amount = Decimal("8000.00")
        generate_plan(s, contract=order.contract, order=order)
        return "replanned"

    def receive(s: Session, fin: Staff) -> str:
        record_receipt(s, actor=fin, number=world.o1.number, amount="10000.00")
        return "received"

    results = together([_as(rt, "fin", shrink), _as(rt, "fin", receive)])
    outcomes = [r if isinstance(r, str) else type(r).__name__ for r in results]
    # Receipt first: the paid installments cannot shrink (ValidationFailed). Plan first: 8000
    # is paid and 2000 becomes credit.
    assert outcomes in (["replanned", "received"], ["ValidationFailed", "received"]), outcomes
    _books_balance(rt)


# ---- corrections (issue 12 B): duplicate guard, reversals and credit applications via the API


def _fin(app: Flask) -> str:
    return ApiClient(app, app.test_client()).login("fin")


def _post(path: str, body: dict[str, Any]) -> Callable[[ApiClient], Any]:
    return lambda api: api.post(path, json=body)


def test_parallel_identical_receipts_without_confirm(app: Flask, rt: Runtime, world: World) -> None:
    """20 clerks record the same 3000 at once: one lands, the rest are asked to confirm (the
    duplicate check runs under the plan lock, so no two of them both see 'no twin')."""
    results = _race(app, _fin(app), [_receipt("3000.00", world.o1.number, confirm=False)] * 20)
    assert _statuses(results) == Counter({201: 1, 409: 19})
    assert {r.get_json()["error"]["code"] for r in results if r.status_code == 409} == {
        "possible_duplicate"
    }
    _books_balance(rt)
    with rt.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Receipt)) == 1


def test_parallel_reversals_of_one_receipt(app: Flask, rt: Runtime, world: World) -> None:
    api = ApiClient(app, app.test_client()).as_(_fin(app))
    rc = api.post(f"/orders/{world.o1.number}/receipts", json={"amount": "4000.00"})
    number = rc.get_json()["receipt"]["number"]
    reverse = _post(f"/receipts/{number}/reverse", {"reason": "录错"})
    results = _race(app, api.token or "", [reverse] * 10)
    assert _statuses(results) == Counter({200: 1, 409: 9})
    _books_balance(rt)
    assert [i.paid_amount for i in _installments(rt, world)] == [Decimal("0.00")] * 2


def _credit_of_2000(api: ApiClient, world: World) -> tuple[str, int]:
    """First installment (3000) owed again, 2000 of customer credit: receipt A pays the first
    installment, B (9000) pays the second and leaves 2000 credit, A is reversed."""
    no = world.o1.number
    a = api.post(f"/orders/{no}/receipts", json={"amount": "3000.00"}).get_json()
    b = api.post(f"/orders/{no}/receipts", json={"amount": "9000.00"}).get_json()
    assert b["credit"] == "2000.00"
    api.post(f"/receipts/{a['receipt']['number']}/reverse", json={"reason": "退回"})
    return b["receipt"]["number"], a["allocations"][0]["installment_id"]


def test_parallel_credit_applications(app: Flask, rt: Runtime, world: World) -> None:
    """10 applications of 300 from 2000 of credit: six fit, four are refused."""
    api = ApiClient(app, app.test_client()).as_(_fin(app))
    _, first = _credit_of_2000(api, world)
    body = {"installment_id": first, "amount": "300.00"}
    path = f"/orders/{world.o1.number}/credit-applications"
    results = _race(app, api.token or "", [_post(path, body)] * 10)
    assert _statuses(results) == Counter({201: 6, 422: 4})
    _books_balance(rt)
    assert _installments(rt, world)[0].paid_amount == Decimal("1800.00")
    with rt.db.transaction() as s:
        assert customer_credit(s, world.c1.id) == Decimal("200.00")


def test_credit_applications_race_the_reversal_of_their_source(
    app: Flask, rt: Runtime, world: World
) -> None:
    """Whatever runs first, the books balance: applications after the reversal find no credit,
    applications before it are reversed with it (or the reversal asks for a retry)."""
    api = ApiClient(app, app.test_client()).as_(_fin(app))
    source, first = _credit_of_2000(api, world)
    apply_ = _post(
        f"/orders/{world.o1.number}/credit-applications",
        {"installment_id": first, "amount": "500.00"},
    )
    reverse = _post(f"/receipts/{source}/reverse", {"reason": "退款"})
    results = _race(app, api.token or "", [apply_] * 5 + [reverse])
    assert {r.status_code for r in results[:5]} <= {201, 422}
    assert results[5].status_code in (200, 409)
    _books_balance(rt)
    with rt.db.transaction() as s:
        live = s.scalar(
            select(func.count())
            .select_from(CreditApplication)
            .where(CreditApplication.reversed_at.is_(None))
        )
        if results[5].status_code == 200:
            assert live == 0
            assert customer_credit(s, world.c1.id) == Decimal("0.00")


def test_parallel_plan_edits_and_receipts(app: Flask, rt: Runtime, world: World) -> None:
    """Ten edits moving money between the two installments race five receipts of 1000: every
    edit sees the receipts before it (never below what was paid), the total never moves."""
    token = _fin(app)
    a, b = (i.id for i in _installments(rt, world))
    path = f"/orders/{world.o1.number}/payment-plan"

    def edit(k: int) -> Callable[[ApiClient], Any]:
        first = Decimal("500.00") + 500 * k
        rows = [{"id": a, "amount": f"{first:.2f}"}, {"id": b, "amount": f"{10000 - first:.2f}"}]
        return lambda api: api.patch(path, json={"installments": rows})

    calls = [edit(k % 6) for k in range(10)] + [_receipt("1000.00", world.o1.number)] * 5
    results = _race(app, token, calls)
    assert {r.status_code for r in results[:10]} <= {200, 422}
    assert _statuses(results[10:]) == Counter({201: 5})
    _books_balance(rt)
    insts = _installments(rt, world)
    assert sum((i.amount for i in insts), Decimal(0)) == Decimal("10000.00")
    assert sum((i.paid_amount for i in insts), Decimal(0)) == Decimal("5000.00")


def test_parallel_red_letters_and_voids_of_one_invoice(
    app: Flask, rt: Runtime, world: World
) -> None:
    """Five red-letter requests and five voids of one paper invoice: exactly one wins."""
    api = ApiClient(app, app.test_client()).as_(_fin(app))
    inv = api.post(
        f"/orders/{world.o1.number}/invoices", json={"installment": "首付款", "kind": "纸质普票"}
    ).get_json()
    red = _post(f"/invoices/{inv['number']}/red-letter", {"reason": "红冲"})
    void = _post(f"/invoices/{inv['number']}/void", {"reason": "作废"})
    results = _race(app, api.token or "", [red, void] * 5)
    wins = [r.status_code for r in results if r.status_code in (200, 201)]
    assert len(wins) == 1 and _statuses(results)[409] == 9
    _books_balance(rt)
    assert _installments(rt, world)[0].invoiced_amount == Decimal("0.00")
