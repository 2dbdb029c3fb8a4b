"""The AR balances per aging bucket (models.ar_balance): rebuild, read and verify.

`rebuild` recomputes them for a day from the installments (the nightly job, and the job queued
when a write marked them stale); `grouped` reads one dimension back; `verify` compares them with
the installments, for the ledger check. The SQL mirrors `models.ar_balance.outstanding_cents`:
open statuses, a due date, more owed than paid; each row's cents rounded before summing.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    tuple_,
)
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.models import ArBalance, ArBalanceState, Installment, Order, PaymentPlan
from orderdesk.models.ar_balance import (
    AGING_BOUNDS,
    DIMENSIONS,
    NO_KEY,
    STATE_ID,
    apply_pending,
    discard_pending,
)
from orderdesk.models.money import OPEN_INSTALLMENT_STATUSES

Grouped = dict[tuple[int, int], int]  # (key id, bucket) -> cents

_KEYS: dict[str, Any] = {
    "customer": Order.customer_id,
    "owner": Order.owner_id,
    "business_line": func.coalesce(Order.business_line_id, NO_KEY),
}


def bucket_case(day: date) -> ColumnElement[int]:
    """The bucket index of an installment's due date seen on `day` (first bound that holds)."""
    whens = [
        (Installment.due_date >= day - timedelta(days=bound), i)
        for i, bound in enumerate(AGING_BOUNDS)
        if bound is not None
    ]
    return case(*whens, else_=len(AGING_BOUNDS) - 1)


def _cents() -> ColumnElement[int]:
    return cast(func.round((Installment.amount - Installment.paid_amount) * 100), BigInteger)


def open_installments(*columns: Any) -> Any:
    """SELECT `columns` over the installments that still count in the aging, with their plan
    and order joined (the report's live path adds its labels and scope)."""
    return (
        select(*columns)
        .select_from(Installment)
        .join(PaymentPlan, Installment.plan_id == PaymentPlan.id)
        .join(Order, Order.id == PaymentPlan.order_id)
        .where(
            Installment.status.in_(OPEN_INSTALLMENT_STATUSES),
            Installment.due_date.is_not(None),
            Installment.amount > Installment.paid_amount,
        )
    )


def _live(dimension: str, day: date) -> Any:
    """One dimension's balances from the installments (one pass each)."""
    key = _KEYS[dimension]
    bucket = cast(bucket_case(day), Integer)
    return open_installments(literal(dimension), key, bucket, func.sum(_cents())).group_by(
        key, bucket
    )


def _live_all(day: date) -> Any:
    """All three dimensions in one pass over the installments (PostgreSQL's GROUPING SETS):
    in each set the other keys are NULL, so COALESCE picks the set's own key."""
    rows = open_installments(
        Order.customer_id.label("customer"),
        Order.owner_id.label("owner"),
        _KEYS["business_line"].label("business_line"),
        cast(bucket_case(day), Integer).label("bucket"),
        _cents().label("cents"),
    ).subquery()
    dimension = case(
        (func.grouping(rows.c.customer) == 0, "customer"),
        (func.grouping(rows.c.owner) == 0, "owner"),
        else_="business_line",
    )
    sets = [tuple_(rows.c[d], rows.c.bucket) for d in DIMENSIONS]
    return select(
        dimension,
        func.coalesce(rows.c.customer, rows.c.owner, rows.c.business_line),
        rows.c.bucket,
        func.sum(rows.c.cents),
    ).group_by(func.grouping_sets(*sets))


def state_day(session: Session) -> date | None:
    """The day the balances are bucketed for; None when stale or never built. Applies the
    session's own pending changes first, so a read after a write in one transaction sees it."""
    apply_pending(session)
    return session.scalar(select(ArBalanceState.day).where(ArBalanceState.id == STATE_ID))


def rebuild(session: Session, day: date) -> None:
    """Recompute every balance for `day`. Holds the state row FOR UPDATE: commits that carry
    deltas wait (they take it FOR SHARE) and land after, on the new day."""
    state = session.scalar(
        select(ArBalanceState).where(ArBalanceState.id == STATE_ID).with_for_update()
    )
    if state is None:
        state = ArBalanceState(id=STATE_ID)
        session.add(state)
    discard_pending(session)  # the sums below read this transaction's own writes too
    session.execute(delete(ArBalance))
    columns = ["dimension", "key_id", "bucket", "cents"]
    if session.get_bind().dialect.name == "postgresql":
        session.execute(insert(ArBalance).from_select(columns, _live_all(day)))
    else:
        for dimension in DIMENSIONS:
            session.execute(insert(ArBalance).from_select(columns, _live(dimension, day)))
    state.day = day
    state.built_at = clock.now()
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        # Fresh statistics for the readers' plans (autovacuum would get there, later).
        session.execute(text("ANALYZE ar_balances"))


def grouped(session: Session, dimension: str) -> Grouped:
    rows = session.execute(
        select(ArBalance.key_id, ArBalance.bucket, ArBalance.cents).where(
            and_(ArBalance.dimension == dimension, ArBalance.cents != 0)
        )
    )
    return {(key, bucket): cents for key, bucket, cents in rows}


def verify(session: Session) -> list[str]:
    """Where the kept balances differ from the installments (empty: they agree)."""
    day = state_day(session)
    if day is None:
        return []
    problems = []
    for dimension in DIMENSIONS:
        live: Grouped = defaultdict(int)
        for _dim, key, bucket, cents in session.execute(_live(dimension, day)):
            if cents:
                live[(key, bucket)] += int(cents)
        kept = grouped(session, dimension)
        for k in sorted(set(live) | set(kept)):
            if live.get(k, 0) != kept.get(k, 0):
                problems.append(
                    f"{dimension} {k[0]} 账龄段 {k[1]}: 余额表 {kept.get(k, 0) / 100:.2f},"
                    f" 明细 {live.get(k, 0) / 100:.2f}"
                )
    return problems
