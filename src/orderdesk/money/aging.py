"""Accounts-receivable aging: outstanding balances by age bucket, per customer, owner or line.

Buckets by days past the due date (company time zone): not due (0 or less), 1-30, 31-60, 61-90,
> 90. Installments without a due date are not receivable yet and are left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.core.errors import ValidationFailed
from orderdesk.directory.permissions import MONEY_ROLES
from orderdesk.models import (
    BusinessLine,
    Customer,
    Department,
    Installment,
    Order,
    PaymentPlan,
    Staff,
)
from orderdesk.money.collections import OPEN_STATUSES

BUCKETS = ("not_due", "d1_30", "d31_60", "d61_90", "d90_plus")
BUCKET_ZH = {
    "not_due": "未到期",
    "d1_30": "1-30天",
    "d31_60": "31-60天",
    "d61_90": "61-90天",
    "d90_plus": ">90天",
}
GROUPINGS = ("customer", "owner", "business_line")


@dataclass
class AgingRow:
    key: int | None
    label: str
    buckets: dict[str, Decimal] = field(
        default_factory=lambda: {b: Decimal("0.00") for b in BUCKETS}
    )

    @property
    def total(self) -> Decimal:
        return sum(self.buckets.values(), Decimal("0.00"))


def bucket_for(days_over: int) -> str:
    if days_over <= 0:
        return "not_due"
    if days_over <= 30:
        return "d1_30"
    if days_over <= 60:
        return "d31_60"
    if days_over <= 90:
        return "d61_90"
    return "d90_plus"


def aging(
    session: Session, *, actor: Staff, by: str = "customer", as_of: date | None = None
) -> list[AgingRow]:
    """Aging rows (largest total first) over the orders whose money the actor may see."""
    if by not in GROUPINGS:
        raise ValidationFailed("账龄分组只能是 customer、owner 或 business_line")
    as_of = as_of or clock.today(clock.company_tz(session))
    label_col = {"customer": Customer.name, "owner": Staff.name, "business_line": BusinessLine.name}
    key_col = {"customer": Customer.id, "owner": Staff.id, "business_line": BusinessLine.id}
    stmt = (
        select(
            key_col[by],
            label_col[by],
            Installment.due_date,
            Installment.amount,
            Installment.paid_amount,
        )
        .join(PaymentPlan, Installment.plan_id == PaymentPlan.id)
        .join(Order, Order.id == PaymentPlan.order_id)
        .join(Customer, Customer.id == Order.customer_id)
        .join(Staff, Staff.id == Order.owner_id)
        .outerjoin(BusinessLine, BusinessLine.id == Order.business_line_id)
        .where(
            Installment.status.in_(OPEN_STATUSES),
            Installment.due_date.is_not(None),
            Installment.amount > Installment.paid_amount,
        )
    )
    if not actor.has_role(*MONEY_ROLES):
        # The SQL twin of permissions.can_see_money: the owner, the owner's direct manager and
        # the head of the owner's department (a PM who only sees the order sees no money).
        heads = select(Department.id).where(Department.head_userid == actor.userid)
        stmt = stmt.where(
            or_(
                Order.owner_id == actor.id,
                Staff.manager_id == actor.id,
                Staff.department_id.in_(heads),
            )
        )
    rows: dict[int | None, AgingRow] = {}
    for key, label, due, amount, paid in session.execute(stmt):
        row = rows.setdefault(key, AgingRow(key, label or "未分类"))
        row.buckets[bucket_for((as_of - due).days)] += amount - paid
    return sorted(rows.values(), key=lambda r: (-r.total, r.label))
