"""Receivable balances per aging bucket, kept up to date on every write (issue 13).

The whole-company AR aging at a million orders summed ~2.3 million open installments per ask
(1.6 s). These tables hold the same sums already grouped: one row per (dimension, key, bucket)
for the customer, owner and business-line views, as of one day (`ArBalanceState.day`). A
rebuild (`money.ar_balances.rebuild`, nightly and after anything marks them stale) computes them
from the installments; in between, every ORM write to an installment adds its change here, in
the same transaction, so the balances are never behind the ledger they summarise.

How the change is found: `before_flush` reads each touched installment's outstanding before and
after (attribute history; the money columns keep their old value with `active_history`), and
its bucket from the due date. The deltas wait in `session.info` per (sub)transaction, so a
rolled-back savepoint (an import row refused, a dry run) drops its own; the root commit applies
them in key order (no two writers lock the same rows in opposite order), after taking the state
row FOR SHARE: a rebuild takes it FOR UPDATE, so a commit lands wholly before or after one.
An order changing owner, customer or business line moves what it owed from its old keys to the
new: at commit its plans are locked (every installment write holds that lock, so no one is
half-way through one) and its open installments read, less this transaction's own deltas.
Writers read the keys at commit from the table, not from their objects, so a move committed
meanwhile is followed. What cannot be a delta (a plan or an order deleted, a plan moving to
another order) marks the balances stale instead; readers then answer from the live tables
until the rebuild (queued at once). Amounts are whole cents in a BIGINT: sums of integers are
exact on SQLite too.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, SmallInteger, String, Table, event, inspect, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column

from orderdesk.models.base import Base, UTCDateTime
from orderdesk.models.money import OPEN_INSTALLMENT_STATUSES, Installment, PaymentPlan
from orderdesk.models.order import Order

# Upper bound (days past due on the balance day) of each bucket; None = no bound. The report's
# titles (reports.aging.BUCKETS) follow this order.
AGING_BOUNDS: tuple[int | None, ...] = (0, 30, 60, 90, 180, None)
DIMENSIONS = ("customer", "owner", "business_line")
NO_KEY = 0  # key of the orders without a business line
STATE_ID = 1
PENDING = "ar_balance_pending"
REBUILD_WANTED = "ar_balance_rebuild_wanted"


class ArBalanceState(Base):
    """One row (id 1): the day the balances are bucketed for, or NULL when stale / never built."""

    __tablename__ = "ar_balance_state"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    day: Mapped[date | None]
    built_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ArBalance(Base):
    __tablename__ = "ar_balances"

    dimension: Mapped[str] = mapped_column(String(16), primary_key=True)
    key_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    bucket: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    cents: Mapped[int] = mapped_column(BigInteger)


def bucket_of(due: date, day: date) -> int:
    """Index into AGING_BOUNDS of an installment due on `due`, seen on `day`."""
    overdue = (day - due).days
    for i, bound in enumerate(AGING_BOUNDS):
        if bound is None or overdue <= bound:
            return i
    raise AssertionError("the last bucket has no bound")


def outstanding_cents(status: str | None, amount: Any, paid: Any, due: date | None) -> int:
    """What an installment adds to the aging, in cents (0 when closed, paid up or undated).
    None stands for a column default not applied yet (a new row before its INSERT)."""
    status = status or "planned"
    paid = paid if paid is not None else Decimal("0.00")
    if status not in OPEN_INSTALLMENT_STATUSES or due is None or amount is None or amount <= paid:
        return 0
    return int((Decimal(amount) - Decimal(paid)) * 100)


# What the balances are grouped by, as columns and as relationships (a service may set either;
# the column follows the relationship only during the flush).
_ORDER_KEYS = (
    "owner_id",
    "customer_id",
    "business_line_id",
    "owner",
    "customer",
    "business_line",
)


Keys = tuple[int, int, int]  # (customer, owner, business line or NO_KEY) of an order


@dataclass
class _Changes:
    """What one (sub)transaction did: installment deltas per (order, due date) in cents, the
    orders whose grouping keys changed (with the keys they had before), and whether something
    happened that only a rebuild can follow. Orders are keyed by id() until they have ids."""

    deltas: dict[tuple[int, date], int] = field(default_factory=lambda: defaultdict(int))
    orders: dict[int, Order] = field(default_factory=dict)
    moved: dict[int, Keys] = field(default_factory=dict)
    stale: bool = False

    def move(self, order: Order) -> None:
        self.orders[id(order)] = order
        self.moved.setdefault(
            id(order),
            (
                _old(order, "customer_id"),
                _old(order, "owner_id"),
                _old(order, "business_line_id") or NO_KEY,
            ),
        )

    def add(self, order: Order | None, due: date | None, cents: int) -> None:
        if order is None or due is None or cents == 0:
            return
        self.orders[id(order)] = order
        self.deltas[(id(order), due)] += cents

    def absorb(self, other: _Changes) -> None:
        self.orders.update(other.orders)
        for key, cents in other.deltas.items():
            self.deltas[key] += cents
        for order_key, keys in other.moved.items():
            self.moved.setdefault(order_key, keys)  # the first: what the balances hold
        self.stale = self.stale or other.stale


def _pending(session: Session) -> dict[SessionTransaction, _Changes]:
    pending: dict[SessionTransaction, _Changes] = session.info.setdefault(PENDING, {})
    return pending


def _current(session: Session) -> SessionTransaction | None:
    return session.get_nested_transaction() or session.get_transaction()


def _old(obj: Any, attr: str) -> Any:
    """The value `attr` had before this flush (the current one when unchanged)."""
    hist = inspect(obj).attrs[attr].history
    if hist.deleted:
        return hist.deleted[0]
    if hist.unchanged:
        return hist.unchanged[0]
    return getattr(obj, attr)


def _changed(obj: Any, *attrs: str) -> bool:
    """Whether any of `attrs` was set to something else (or to something, when the old value
    was never loaded: counted as a change, which at worst costs one rebuild)."""
    state = inspect(obj)
    for attr in attrs:
        hist = state.attrs[attr].history
        if hist.added and (not hist.deleted or hist.added[0] != hist.deleted[0]):
            return True
    return False


def _order_of(session: Session, plan: PaymentPlan | None) -> Order | None:
    if plan is None:
        return None
    if plan.order is not None:
        return plan.order
    return session.get(Order, plan.order_id) if plan.order_id else None


def _plan_before(session: Session, inst: Installment) -> PaymentPlan | None:
    # The column, not the relationship: removing an installment from its plan's collection
    # sets `inst.plan` to None before the flush, while `plan_id` still names the old plan.
    plan_id = _old(inst, "plan_id")
    return session.get(PaymentPlan, plan_id) if plan_id is not None else None


def _capture_installment(
    session: Session, inst: Installment, changes: _Changes, gone: bool
) -> None:
    if inspect(inst).persistent:
        old = outstanding_cents(
            _old(inst, "status"),
            _old(inst, "amount"),
            _old(inst, "paid_amount"),
            _old(inst, "due_date"),
        )
        changes.add(_order_of(session, _plan_before(session, inst)), _old(inst, "due_date"), -old)
    if gone or inst.plan is None:
        return
    new = outstanding_cents(inst.status, inst.amount, inst.paid_amount, inst.due_date)
    changes.add(_order_of(session, inst.plan), inst.due_date, new)


@event.listens_for(Session, "before_flush")
def _capture(session: Session, _flush_context: Any, _instances: Any) -> None:
    tx = _current(session)
    if tx is None:
        return
    changes = _Changes()
    with session.no_autoflush:
        gone: dict[int, Installment] = {}
        for obj in session.deleted:
            if isinstance(obj, Installment):
                gone[id(obj)] = obj
            elif isinstance(obj, (Order, PaymentPlan)):
                changes.stale = True
        for obj in session.dirty:
            if isinstance(obj, PaymentPlan):
                # Removed from the collection = deleted as an orphan during this flush.
                for inst in inspect(obj).attrs.installments.history.deleted:
                    if inspect(inst).persistent:
                        gone[id(inst)] = inst
                if _changed(obj, "order_id", "order"):
                    changes.stale = True
            elif isinstance(obj, Order) and _changed(obj, *_ORDER_KEYS):
                changes.move(obj)
        for inst in gone.values():
            _capture_installment(session, inst, changes, gone=True)
        for obj in session.new:
            if isinstance(obj, Installment):
                _capture_installment(session, obj, changes, gone=False)
        for obj in session.dirty:
            if isinstance(obj, Installment) and id(obj) not in gone:
                _capture_installment(session, obj, changes, gone=False)
    if changes.deltas or changes.moved or changes.stale:
        _pending(session).setdefault(tx, _Changes()).absorb(changes)


@event.listens_for(Session, "after_rollback")
def _drop_rolled_back(session: Session) -> None:
    """A savepoint (or the whole transaction) rolled back: its deltas never happened."""
    tx = _current(session)
    pending = session.info.get(PENDING)
    if pending and tx is not None:
        pending.pop(tx, None)


@event.listens_for(Session, "after_transaction_end")
def _hand_up(session: Session, tx: SessionTransaction) -> None:
    """A released savepoint's deltas now belong to its parent; the root's end drops leftovers
    (after a commit they were applied already)."""
    pending = session.info.get(PENDING)
    if not pending or tx not in pending:
        return
    changes = pending.pop(tx)
    if tx.parent is not None:
        pending.setdefault(tx.parent, _Changes()).absorb(changes)


@event.listens_for(Session, "before_commit")
def _apply(session: Session) -> None:
    if not session.in_nested_transaction():  # a savepoint released: the root commit applies
        apply_pending(session)


def discard_pending(session: Session) -> None:
    """Forget this transaction's deltas: a rebuild in it has counted its writes already."""
    session.flush()
    session.info.pop(PENDING, None)


def apply_pending(session: Session) -> None:
    """Write this transaction's deltas now: at the root commit, or before reading the balances
    inside the transaction that changed installments (the report, the ledger check). Not
    inside a savepoint: a rollback of it would take the deltas of the outer levels too."""
    if session.in_nested_transaction():
        return
    session.flush()  # before_commit runs before the commit's own final flush
    if not session.info.get(PENDING):
        return
    merged = _Changes()
    for changes in session.info.pop(PENDING, {}).values():
        merged.absorb(changes)
    if not merged.deltas and not merged.moved and not merged.stale:
        return
    day = session.execute(
        select(ArBalanceState.day).where(ArBalanceState.id == STATE_ID).with_for_update(read=True)
    ).scalar()
    if day is None:
        return  # never built, or stale: the rebuild will count these
    if merged.stale:
        session.execute(
            update(ArBalanceState).where(ArBalanceState.id == STATE_ID).values(day=None)
        )
        session.info[REBUILD_WANTED] = True
        return
    _upsert(session, _rows(session, merged, day))


def _current_keys(session: Session, order_ids: list[int]) -> dict[int, Keys]:
    """Each order's grouping keys as committed, or as this transaction changed them. Read now,
    not from the objects: another transaction may have moved the order meanwhile (it waited
    for our plan lock before reading the order's installments, so it did not count ours)."""
    rows = session.execute(
        select(Order.id, Order.customer_id, Order.owner_id, Order.business_line_id).where(
            Order.id.in_(order_ids)
        )
    )
    return {oid: (customer, owner, line or NO_KEY) for oid, customer, owner, line in rows}


def _open_cents(session: Session, order_ids: list[int]) -> dict[tuple[int, date], int]:
    """The moved orders' open installments per due date, once no one else can change them:
    their plans locked (every installment write holds its plan's lock, money.plans.lock_plan)."""
    session.execute(
        select(PaymentPlan.id)
        .where(PaymentPlan.order_id.in_(order_ids))
        .order_by(PaymentPlan.id)
        .with_for_update()
    ).all()
    rows = session.execute(
        select(
            PaymentPlan.order_id,
            Installment.due_date,
            Installment.status,
            Installment.amount,
            Installment.paid_amount,
        )
        .join(PaymentPlan, PaymentPlan.id == Installment.plan_id)
        .where(PaymentPlan.order_id.in_(order_ids))
    )
    found: dict[tuple[int, date], int] = defaultdict(int)
    for order_id, due, status, amount, paid in rows:
        cents = outstanding_cents(status, amount, paid, due)
        if cents:
            found[(order_id, due)] += cents
    return found


def _rows(session: Session, changes: _Changes, day: date) -> dict[tuple[str, int, int], int]:
    ids = {key: order.id for key, order in changes.orders.items()}
    keys = _current_keys(session, sorted(set(ids.values())))
    deltas: dict[tuple[int, date], int] = defaultdict(int)  # by order id now
    for (order_key, due), cents in changes.deltas.items():
        deltas[(ids[order_key], due)] += cents
    rows: dict[tuple[str, int, int], int] = defaultdict(int)

    def add(order_keys: Keys, due: date, cents: int) -> None:
        bucket = bucket_of(due, day)
        for dimension, key in zip(DIMENSIONS, order_keys, strict=True):
            rows[(dimension, key, bucket)] += cents

    moved = {ids[k]: old for k, old in changes.moved.items()}
    if moved:
        # The balances hold what the order owed before this transaction under its old keys:
        # now (locked) minus our own deltas. Take it from there and add it under the new keys.
        now = _open_cents(session, sorted(moved))
        for order_id, due in set(now) | {k for k in deltas if k[0] in moved}:
            before = now.get((order_id, due), 0) - deltas.get((order_id, due), 0)
            add(moved[order_id], due, -before)
            add(keys[order_id], due, before)
    for (order_id, due), cents in deltas.items():
        add(keys[order_id], due, cents)
    return {k: v for k, v in rows.items() if v}


def _upsert(session: Session, rows: dict[tuple[str, int, int], int]) -> None:
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = ArBalance.__table__
    assert isinstance(table, Table)
    stmt = insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["dimension", "key_id", "bucket"],
        set_={"cents": table.c.cents + stmt.excluded.cents},
    )
    # In key order: concurrent commits lock the rows they share in the same order.
    params = [
        {"dimension": d, "key_id": k, "bucket": b, "cents": c}
        for (d, k, b), c in sorted(rows.items())
    ]
    session.execute(stmt, params)
