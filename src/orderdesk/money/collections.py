"""What is owed: per-order money summary and the overdue list an actor may see.

"Overdue" = an installment with a due date before today (company time zone) that still has an
outstanding balance. Installments without a due date (waiting for a milestone or an event) are
not receivable yet and appear in neither.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import BindParameter, Select, bindparam, or_, select
from sqlalchemy.orm import Session, joinedload

from orderdesk.core import clock
from orderdesk.directory.permissions import can_see_money, order_scope
from orderdesk.models import Customer, Installment, Order, PaymentPlan, Staff
from orderdesk.models.money import OPEN_INSTALLMENT_STATUSES

ZERO = Decimal("0.00")
OPEN_STATUSES = OPEN_INSTALLMENT_STATUSES


@dataclass(frozen=True)
class MoneySummary:
    total: Decimal
    received: Decimal
    outstanding: Decimal
    next_due_date: date | None
    next_due_amount: Decimal
    overdue_amount: Decimal
    overdue_count: int
    invoiced: Decimal = ZERO


@dataclass(frozen=True)
class OverdueItem:
    order_number: str
    order_title: str
    installment_id: int
    installment_name: str
    due_date: date
    days_overdue: int
    outstanding: Decimal
    owner_userid: str
    owner_name: str


@dataclass
class CustomerOverdue:
    customer_id: int
    customer_name: str
    total: Decimal = ZERO
    count: int = 0
    oldest_due: date | None = None
    items: list[OverdueItem] = field(default_factory=list)


def plan_of(session: Session, order: Order) -> PaymentPlan | None:
    """The order's plan: linked to the order, or to the order's contract."""
    conds = [PaymentPlan.order_id == order.id]
    if order.contract_id is not None:
        conds.append(PaymentPlan.contract_id == order.contract_id)
    # Its installments come along: every reader of a plan reads them.
    stmt = (
        select(PaymentPlan)
        .where(or_(*conds))
        .options(joinedload(PaymentPlan.installments))
        .order_by(PaymentPlan.id)
    )
    return session.scalars(stmt).unique().first()


def money_summary(session: Session, order: Order, *, today: date | None = None) -> MoneySummary:
    today = today or clock.today(clock.company_tz(session))
    return summarize(order, plan_of(session, order), today)


def summarize(order: Order, plan: PaymentPlan | None, today: date) -> MoneySummary:
    """money_summary for a plan already loaded (a page that shows the plan too loads it once)."""
    if plan is None:
        total = order.amount
        return MoneySummary(total, ZERO, total, None, ZERO, ZERO, 0)
    insts = [i for i in plan.installments if i.status != "cancelled"]
    total = sum((i.amount for i in insts), ZERO)
    received = sum((i.paid_amount for i in insts), ZERO)
    invoiced = sum((i.invoiced_amount for i in insts), ZERO)
    open_dated = sorted(
        (i for i in insts if i.outstanding > 0 and i.due_date is not None),
        key=lambda i: (i.due_date, i.sequence),
    )
    overdue = [i for i in open_dated if i.due_date is not None and i.due_date < today]
    upcoming = [i for i in open_dated if i.due_date is not None and i.due_date >= today]
    next_due_date = upcoming[0].due_date if upcoming else None
    next_due_amount = sum((i.outstanding for i in upcoming if i.due_date == next_due_date), ZERO)
    return MoneySummary(
        total=total,
        received=received,
        outstanding=total - received,
        next_due_date=next_due_date,
        next_due_amount=next_due_amount,
        overdue_amount=sum((i.outstanding for i in overdue), ZERO),
        overdue_count=len(overdue),
        invoiced=invoiced,
    )


def overdue_order_ids(today: date) -> Select[tuple[int | None]]:
    """Ids of orders with an installment past its due date and not fully paid (the same rule
    as `overdue_for`), for filtering order lists."""
    return (
        select(PaymentPlan.order_id)
        .join(Installment, Installment.plan_id == PaymentPlan.id)
        .where(
            Installment.status.in_(OPEN_STATUSES),
            Installment.due_date < today,
            Installment.amount > Installment.paid_amount,
        )
    )


def _overdue_installment_ids(actor: Staff, today: date) -> Select[tuple[int]]:
    """Ids of the overdue installments in the actor's scope, shaped so that PostgreSQL answers
    it from indexes alone (ix_orders_owner_id_id, ix_payment_plans_order_id_id and the partial
    ix_installments_open_plan, whose predicate the three installment clauses repeat word for
    word): the tables are then read for the overdue rows only, not for every order a sales
    person owns, which kept 逾期 growing with the table (bench/command.py)."""
    # The statuses are written into the statement: the partial index needs them visible to the
    # planner, also in the generic plan of a statement psycopg has prepared.
    statuses: BindParameter[str] = bindparam(
        "open_statuses", OPEN_STATUSES, expanding=True, literal_execute=True
    )
    return (
        select(Installment.id)
        .join(PaymentPlan, Installment.plan_id == PaymentPlan.id)
        .join(Order, Order.id == PaymentPlan.order_id)
        .where(
            order_scope(actor),
            Installment.status.in_(statuses),
            Installment.due_date < today,
            Installment.amount > Installment.paid_amount,
        )
    )


def overdue_for(
    session: Session, *, actor: Staff, today: date | None = None
) -> list[CustomerOverdue]:
    """Overdue installments the actor may see, grouped by customer, largest total first."""
    today = today or clock.today(clock.company_tz(session))
    rows = session.execute(
        select(Installment, Order, Customer)
        .join(PaymentPlan, Installment.plan_id == PaymentPlan.id)
        .join(Order, Order.id == PaymentPlan.order_id)
        .join(Customer, Customer.id == Order.customer_id)
        .where(Installment.id.in_(_overdue_installment_ids(actor, today)))
        .order_by(Installment.due_date, Installment.id)
    ).all()
    groups: dict[int, CustomerOverdue] = {}
    for inst, order, customer in rows:
        if not can_see_money(actor, order):
            continue
        assert inst.due_date is not None
        group = groups.setdefault(customer.id, CustomerOverdue(customer.id, customer.name))
        group.items.append(
            OverdueItem(
                order_number=order.number,
                order_title=order.title,
                installment_id=inst.id,
                installment_name=inst.name,
                due_date=inst.due_date,
                days_overdue=(today - inst.due_date).days,
                outstanding=inst.outstanding,
                owner_userid=order.owner.userid,
                owner_name=order.owner.name,
            )
        )
        group.total += inst.outstanding
        group.count += 1
        if group.oldest_due is None or inst.due_date < group.oldest_due:
            group.oldest_due = inst.due_date
    return sorted(groups.values(), key=lambda g: (-g.total, g.customer_name))
