"""The AR balances kept on write (models.ar_balance): the whole-company aging read from them
equals the aging read from the installments, bucket by bucket, after every kind of money write;
what cannot be a delta marks them stale and the rebuild job puts them right; commits racing a
rebuild lose nothing. (Every test of the suite also ends with `ar_balances.verify`: conftest.)"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy import event, update
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.jobs.scheduler import job_specs
from orderdesk.models import ArBalanceState, BusinessLine, Customer, Order, Staff
from orderdesk.models.ar_balance import bucket_of
from orderdesk.money import ar_balances
from orderdesk.money.plans import generate_plan
from orderdesk.money.receipts import record_receipt, reverse_receipt
from orderdesk.reports.aging import ar_aging
from orderdesk.runtime import Runtime
from tests.jobs_support import run_jobs
from tests.money_world import contract_of, order_with_contract, staff
from tests.threads import together

D = Decimal
AS_OF = date(2026, 6, 30)
NOW = datetime(2026, 6, 30, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
GROUPINGS = ("customer", "owner", "business_line")


def _terms(rnd: random.Random, k: int) -> tuple[list[dict[str, str]], Decimal]:
    amounts = [D(f"{rnd.randint(1, 9999)}.{rnd.randint(0, 99):02d}") for _ in range(k)]
    terms = [
        {
            "amount": str(a),
            "trigger": "on_date",
            "date": (AS_OF - timedelta(days=rnd.randint(-90, 400))).isoformat(),
        }
        for a in amounts
    ]
    return terms, sum(amounts, D(0))


def _company(session: Session, seed: int) -> dict[str, Any]:
    """Orders of three owners, four customers and two lines (one order without a line), with
    random plans and some receipts."""
    rnd = random.Random(seed)
    fin = staff(session, "fin9", "finance")
    owners = [staff(session, f"s9{i}", "sales") for i in range(3)]
    lines = [BusinessLine(code=f"l{i}", name=f"线{i}") for i in range(2)]
    session.add_all(lines)
    customers = [Customer(name=f"客户{i}", owner=owners[i % 3]) for i in range(4)]
    session.add_all(customers)
    orders = []
    with clock.frozen(NOW):
        for n in range(14):
            terms, total = _terms(rnd, rnd.randint(1, 5))
            o = order_with_contract(
                session,
                owner=owners[n % 3],
                amount=str(total),
                number=f"SO-B{n}",
                customer=customers[n % 4],
                line=None if n % 5 == 0 else lines[n % 2],
                terms=terms,
            )
            generate_plan(session, contract=contract_of(o), order=o)
            orders.append(o)
        session.flush()
        for o in orders[::2]:
            paid = D(rnd.randint(1, int(o.amount))).quantize(D("0.01"))
            record_receipt(session, actor=fin, number=o.number, amount=paid)
    session.flush()
    return {"fin": fin, "owners": owners, "orders": orders, "lines": lines}


def _live(session: Session, actor: Staff, by: str) -> Any:
    """The aging from the installments: the same call with the balances marked stale, inside a
    savepoint that is rolled back."""
    savepoint = session.begin_nested()
    session.execute(update(ArBalanceState).values(day=None))
    table = ar_aging(session, actor=actor, as_of=AS_OF, by=by)
    savepoint.rollback()
    return table


def _assert_same(session: Session, fin: Staff) -> None:
    assert ar_balances.state_day(session) == AS_OF
    for by in GROUPINGS:
        kept = ar_aging(session, actor=fin, as_of=AS_OF, by=by)
        live = _live(session, fin, by)
        assert kept.rows == live.rows and kept.totals == live.totals, by
    assert ar_balances.verify(session) == []


@contextmanager
def _statements(session: Session) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cur: Any, statement: str, *_rest: Any) -> None:
        seen.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_kept_aging_equals_the_installments_and_reads_no_installment(session: Session) -> None:
    world = _company(session, seed=7)
    fin = world["fin"]
    before = {by: _live(session, fin, by) for by in GROUPINGS}
    ar_balances.rebuild(session, AS_OF)
    with _statements(session) as seen:
        for by in GROUPINGS:
            kept = ar_aging(session, actor=fin, as_of=AS_OF, by=by)
            assert kept.rows == before[by].rows and kept.totals == before[by].totals
            assert kept.totals["total"] > 0
    assert seen and not any("installments" in s for s in seen)


def test_every_money_write_keeps_them_exact(session: Session) -> None:
    world = _company(session, seed=11)
    fin, orders = world["fin"], world["orders"]
    ar_balances.rebuild(session, AS_OF)
    session.commit()
    with clock.frozen(NOW):
        result = record_receipt(session, actor=fin, number=orders[1].number, amount="123.45")
        session.commit()
        _assert_same(session, fin)
        reverse_receipt(session, actor=fin, receipt_number=result.receipt.number, reason="错账")
        session.commit()
        _assert_same(session, fin)
        # New terms: unpaid installments are replaced (removed from the plan = orphans deleted).
        target = orders[3]
        contract = contract_of(target)
        contract.payment_terms = [
            {"amount": str(target.amount), "trigger": "on_date", "date": "2026-05-20"}
        ]
        generate_plan(session, contract=contract, order=target)
        session.commit()
        _assert_same(session, fin)
        # A due date moved straight on the row, and a cancelled installment.
        plan_rows = orders[5].payment_plan.installments
        plan_rows[0].due_date = AS_OF - timedelta(days=95)
        plan_rows[-1].status = "cancelled"
        session.commit()
    _assert_same(session, fin)


def test_a_rolled_back_savepoint_leaves_them_alone(session: Session) -> None:
    world = _company(session, seed=5)
    ar_balances.rebuild(session, AS_OF)
    session.commit()
    savepoint = session.begin_nested()
    with clock.frozen(NOW):
        record_receipt(session, actor=world["fin"], number=world["orders"][2].number, amount="9")
    session.flush()
    savepoint.rollback()
    session.commit()
    _assert_same(session, world["fin"])


def test_moving_an_order_moves_what_it_owes(session: Session) -> None:
    world = _company(session, seed=23)
    fin, owners, orders = world["fin"], world["owners"], world["orders"]
    ar_balances.rebuild(session, AS_OF)
    session.commit()
    with clock.frozen(NOW):
        orders[1].owner = owners[2]  # the relationship
        orders[2].customer_id = orders[0].customer_id  # the column
        orders[3].business_line = None
        session.commit()
        _assert_same(session, fin)
        # Moved and paid in one transaction: the payment lands under the new owner.
        orders[4].owner = owners[1]
        record_receipt(session, actor=fin, number=orders[4].number, amount=orders[4].amount)
        session.commit()
    _assert_same(session, fin)
    assert ar_balances.state_day(session) == AS_OF  # moved, not stale


def test_deleting_a_plan_marks_them_stale_and_the_job_rebuilds(
    rt: Runtime, session: Session
) -> None:
    world = _company(session, seed=3)
    fin, owners, orders = world["fin"], world["owners"], world["orders"]
    today = clock.today(rt.settings.tz)
    ar_balances.rebuild(session, today)
    session.commit()
    moved: Order = orders[4]
    owed = ar_aging(session, actor=fin, as_of=today, by="owner")
    moved.owner = owners[0]  # JOBS_SYNC: the queued rebuild runs right after the commit
    session.commit()
    run_jobs(rt)
    session.expire_all()
    assert ar_balances.state_day(session) == today
    after = {
        r["label"]: r["total"] for r in ar_aging(session, actor=fin, as_of=today, by="owner").rows
    }
    assert sum(after.values()) == owed.totals["total"]
    assert ar_balances.verify(session) == []
    assert any(s.name == "reports.ar_balances" for s in job_specs(rt.settings))


def test_bucket_edges_follow_the_report() -> None:
    day = date(2026, 6, 30)
    assert [bucket_of(day - timedelta(days=n), day) for n in (-1, 0, 1, 30, 31, 180, 181)] == [
        0,
        0,
        1,
        1,
        2,
        4,
        5,
    ]


def test_receipts_racing_a_rebuild_lose_nothing(rt: Runtime, session: Session) -> None:
    world = _company(session, seed=17)
    numbers = [o.number for o in world["orders"]]
    fin_id = world["fin"].id
    session.commit()

    def receipt(number: str, cents: int) -> None:
        with rt.db.transaction() as s:
            amount = D(cents) / 100  # a new amount each round: not a possible duplicate
            record_receipt(s, actor=s.get_one(Staff, fin_id), number=number, amount=amount)

    def rebuild() -> None:
        with rt.db.transaction() as s:
            ar_balances.rebuild(s, AS_OF)

    with clock.frozen(NOW):
        for round_ in range(3):
            calls: list[Callable[[], Any]] = [rebuild]
            calls += [partial(receipt, n, 100 + round_) for n in numbers[:8]]
            results = together(calls)
            assert not [r for r in results if isinstance(r, Exception)], results
    with rt.db.transaction() as s:
        assert ar_balances.state_day(s) == AS_OF
        assert ar_balances.verify(s) == []
        _assert_same(s, s.get_one(Staff, fin_id))
