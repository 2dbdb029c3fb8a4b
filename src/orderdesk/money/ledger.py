"""The ledger check (`orderdesk check`): the money invariants, verified over the whole database.

- per installment: paid = the sum of its live (not reversed) allocations and live credit
  applications, 0 <= paid <= amount;
  invoiced = the sum of its issued invoices (not void, not red-lettered), 0 <= invoiced <= amount;
- per red-letter reversal: the original is "reversed" and has exactly one red invoice of its
  amount, on its installment;
- per receipt: amount = what it allocated + its credit (reversed ones too: reversal keeps both);
- per plan: the sum of its (not cancelled) installments = the plan total;
- per order with a change request approved (变更单, orders.changes): the order amount = its
  plan total (a change moves both by the same delta; other orders may legitimately differ,
  e.g. a contract edited before the order followed);
- per customer: credit balance = credits of live receipts - live credit applications, never
  negative; per receipt: what was applied from it <= its credit, and a reversed receipt has no
  live application left;
- per receipt: its customer is its contract's customer (money never lands on another's books).

Each check is one aggregate query, so the whole database is checked in a few statements.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Select, and_, func, select, union_all
from sqlalchemy.orm import Session, aliased

from orderdesk.models import (
    Contract,
    CreditApplication,
    Installment,
    Invoice,
    Order,
    OrderVersion,
    PaymentPlan,
    Receipt,
    ReceiptAllocation,
)
from orderdesk.money import ar_balances

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Violation:
    rule: str
    ids: dict[str, int]
    detail: str

    def line(self) -> str:
        ids = " ".join(f"{k}={v}" for k, v in self.ids.items())
        return f"{self.rule}: {ids}: {self.detail}"


def _money(value: object) -> Decimal:
    return Decimal(str(value if value is not None else 0)).quantize(Decimal("0.01"))


def _live_payments() -> Select:
    """Per installment: live allocations of live receipts plus live credit applications."""
    parts = union_all(
        select(
            ReceiptAllocation.installment_id.label("iid"), ReceiptAllocation.amount.label("amount")
        )
        .join(Receipt, Receipt.id == ReceiptAllocation.receipt_id)
        .where(Receipt.reversed_at.is_(None)),
        select(
            CreditApplication.installment_id.label("iid"), CreditApplication.amount.label("amount")
        ).where(CreditApplication.reversed_at.is_(None)),
    ).subquery()
    return select(parts.c.iid, func.sum(parts.c.amount).label("total")).group_by(parts.c.iid)


def _issued_invoices() -> Select:
    return (
        select(Invoice.installment_id.label("iid"), func.sum(Invoice.amount).label("total"))
        .where(Invoice.status == "issued")
        .group_by(Invoice.installment_id)
    )


def check_installments(session: Session) -> list[Violation]:
    allocated = _live_payments().subquery()
    invoiced = _issued_invoices().subquery()
    rows = session.execute(
        select(
            Installment.id,
            Installment.plan_id,
            Installment.amount,
            Installment.paid_amount,
            Installment.invoiced_amount,
            allocated.c.total,
            invoiced.c.total,
        )
        .outerjoin(allocated, allocated.c.iid == Installment.id)
        .outerjoin(invoiced, invoiced.c.iid == Installment.id)
        .order_by(Installment.id)
    ).all()
    found: list[Violation] = []
    for iid, plan_id, amount, paid, billed, alloc_sum, invoice_sum in rows:
        ids = {"installment": iid, "plan": plan_id}
        if paid != _money(alloc_sum):
            found.append(
                Violation(
                    "paid_vs_allocations",
                    ids,
                    f"已收 {paid} ≠ 有效分配及预收抵扣合计 {_money(alloc_sum)}",
                )
            )
        if not ZERO <= paid <= amount:
            found.append(Violation("paid_bounds", ids, f"已收 {paid} 不在 0..{amount} 之内"))
        if billed != _money(invoice_sum):
            found.append(
                Violation(
                    "invoiced_vs_invoices",
                    ids,
                    f"已开票 {billed} ≠ 有效发票合计 {_money(invoice_sum)}",
                )
            )
        if not ZERO <= billed <= amount:
            found.append(
                Violation("invoiced_bounds", ids, f"已开票 {billed} 不在 0..{amount} 之内")
            )
    return found


def check_receipts(session: Session) -> list[Violation]:
    allocated = (
        select(
            ReceiptAllocation.receipt_id.label("rid"),
            func.sum(ReceiptAllocation.amount).label("total"),
        )
        .group_by(ReceiptAllocation.receipt_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Receipt.id,
            Receipt.number,
            Receipt.amount,
            Receipt.credit_amount,
            allocated.c.total,
            Receipt.customer_id,
            Contract.customer_id,
        )
        .outerjoin(allocated, allocated.c.rid == Receipt.id)
        .outerjoin(Contract, Contract.id == Receipt.contract_id)
        .order_by(Receipt.id)
    ).all()
    found: list[Violation] = []
    for rid, number, amount, credit, alloc_sum, customer_id, contract_customer in rows:
        ids = {"receipt": rid}
        if amount != _money(alloc_sum) + credit:
            found.append(
                Violation(
                    "receipt_split",
                    ids,
                    f"回款 {number} 金额 {amount} ≠ 已分配 {_money(alloc_sum)} + 预收 {credit}",
                )
            )
        if contract_customer is not None and contract_customer != customer_id:
            found.append(
                Violation(
                    "receipt_customer",
                    {**ids, "customer": customer_id, "contract_customer": contract_customer},
                    f"回款 {number} 的客户与其合同的客户不同",
                )
            )
    return found


def check_plans(session: Session) -> list[Violation]:
    rows = session.execute(
        select(PaymentPlan.id, PaymentPlan.total, func.sum(Installment.amount))
        .outerjoin(
            Installment,
            and_(Installment.plan_id == PaymentPlan.id, Installment.status != "cancelled"),
        )
        .group_by(PaymentPlan.id, PaymentPlan.total)
        .order_by(PaymentPlan.id)
    ).all()
    return [
        Violation("plan_total", {"plan": pid}, f"分期合计 {_money(s)} ≠ 计划总额 {total}")
        for pid, total, s in rows
        if _money(s) != total
    ]


def check_changed_orders(session: Session) -> list[Violation]:
    changed = select(OrderVersion.order_id).where(OrderVersion.change_request_id.is_not(None))
    rows = session.execute(
        select(Order.id, Order.number, Order.amount, PaymentPlan.id, PaymentPlan.total)
        .join(PaymentPlan, PaymentPlan.order_id == Order.id)
        .where(Order.id.in_(changed), Order.amount != PaymentPlan.total)
        .order_by(Order.id)
    ).all()
    return [
        Violation(
            "order_plan_total",
            {"order": oid, "plan": pid},
            f"变更后订单 {number} 金额 {amount} ≠ 付款计划合计 {total}",
        )
        for oid, number, amount, pid, total in rows
    ]


def _applied_per_receipt() -> Select:
    return (
        select(
            CreditApplication.receipt_id.label("rid"),
            func.sum(CreditApplication.amount).label("total"),
        )
        .where(CreditApplication.reversed_at.is_(None))
        .group_by(CreditApplication.receipt_id)
    )


def check_credit(session: Session) -> list[Violation]:
    """Credit balance = credits of live receipts - live applications, per receipt and customer."""
    applied = _applied_per_receipt().subquery()
    rows = session.execute(
        select(
            Receipt.id,
            Receipt.number,
            Receipt.customer_id,
            Receipt.reversed_at,
            Receipt.credit_amount,
            applied.c.total,
        )
        .outerjoin(applied, applied.c.rid == Receipt.id)
        .order_by(Receipt.id)
    ).all()
    found: list[Violation] = []
    balance: dict[int, Decimal] = {}
    for rid, number, cid, reversed_at, credit, used in rows:
        used = _money(used)
        if reversed_at is not None and used:
            found.append(
                Violation(
                    "credit_reversed", {"receipt": rid}, f"回款 {number} 已冲销,仍有预收抵扣 {used}"
                )
            )
        elif used > credit:
            found.append(
                Violation(
                    "credit_overdrawn",
                    {"receipt": rid},
                    f"回款 {number} 预收 {credit} < 已抵扣 {used}",
                )
            )
        if reversed_at is None:
            balance[cid] = balance.get(cid, ZERO) + credit - used
    return found + [
        Violation("credit_balance", {"customer": cid}, f"预收余额 {total} 为负")
        for cid, total in sorted(balance.items())
        if total < 0
    ]


def check_red_letters(session: Session) -> list[Violation]:
    """Every reversed invoice has one red invoice of the same amount and installment, and
    every red invoice cancels a reversed one."""
    original = aliased(Invoice)
    red = aliased(Invoice)
    rows = session.execute(
        select(original.id, original.number, func.count(red.id))
        .outerjoin(
            red,
            and_(
                red.red_of_id == original.id,
                red.status == "red",
                red.amount == original.amount,
                red.installment_id == original.installment_id,
            ),
        )
        .where(original.status == "reversed")
        .group_by(original.id, original.number)
    ).all()
    found = [
        Violation("red_letter", {"invoice": iid}, f"发票 {number} 已红冲,对应红字发票 {n} 张")
        for iid, number, n in rows
        if n != 1
    ]
    orphans = session.execute(
        select(red.id, red.number)
        .outerjoin(original, and_(original.id == red.red_of_id, original.status == "reversed"))
        .where(red.status == "red", original.id.is_(None))
    ).all()
    found += [
        Violation("red_letter", {"invoice": iid}, f"红字发票 {number} 没有对应的已红冲发票")
        for iid, number in orphans
    ]
    return found


def check_ledger(session: Session) -> list[Violation]:
    """Every violation of the ledger invariants in the database (empty: the books hold)."""
    return [
        *check_installments(session),
        *check_receipts(session),
        *check_plans(session),
        *check_changed_orders(session),
        *check_credit(session),
        *check_red_letters(session),
        *check_ar_balances(session),
    ]


def check_ar_balances(session: Session) -> list[Violation]:
    """The aging balances kept on write equal the installments they summarise."""
    return [Violation("ar_balances", {}, problem) for problem in ar_balances.verify(session)]
