"""Money: payment plans and installments, invoices, receipts and their allocations.

Every amount is Decimal in Python and Numeric(18, 2) in the database.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orderdesk.models.base import Base, Money, TimestampMixin, UTCDateTime

if TYPE_CHECKING:
    from orderdesk.models.contract import Contract
    from orderdesk.models.customer import Customer
    from orderdesk.models.order import Order
    from orderdesk.models.project import Milestone
    from orderdesk.models.staff import Staff

TRIGGERS = ("on_signing", "on_date", "after_event", "on_milestone")
INSTALLMENT_STATUSES = ("planned", "due", "partially_paid", "paid", "cancelled")
# The statuses in which money can still be owed (money.collections.OPEN_STATUSES).
OPEN_INSTALLMENT_STATUSES = ("planned", "due", "partially_paid")
# The rows that can still fall overdue (money.collections.OPEN_STATUSES with money left to pay),
# word for word as the overdue queries write it: only then may PostgreSQL use the partial index.
OPEN_OUTSTANDING = text("status IN ('planned', 'due', 'partially_paid') AND amount > paid_amount")


class PaymentPlan(TimestampMixin, Base):
    __tablename__ = "payment_plans"
    # 20261129_overdue_index: order -> plan id from the index alone (逾期 starts from the orders).
    __table_args__ = (Index("ix_payment_plans_order_id_id", "order_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), unique=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    total: Mapped[Decimal] = mapped_column(Money())

    contract: Mapped[Contract] = relationship(back_populates="payment_plan")
    order: Mapped[Order | None] = relationship(back_populates="payment_plan")
    installments: Mapped[list[Installment]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="Installment.sequence"
    )


class Installment(TimestampMixin, Base):
    __tablename__ = "installments"
    __table_args__ = (
        UniqueConstraint("plan_id", "sequence"),
        CheckConstraint("amount >= 0", name="amount_non_negative"),
        CheckConstraint("paid_amount >= 0", name="paid_non_negative"),
        CheckConstraint("invoiced_amount >= 0", name="invoiced_non_negative"),
        # 20261129_money_bounds (triggers on SQLite, see there)
        CheckConstraint("paid_amount <= amount", name="paid_within_amount"),
        CheckConstraint("invoiced_amount <= amount", name="invoiced_within_amount"),
        Index("ix_installments_status_due", "status", "due_date"),
        # 20261129_report_indexes: a month's installments falling due, with what the revenue
        # report sums per line (index-only on PostgreSQL).
        Index(
            "ix_installments_due_month",
            "due_date",
            "plan_id",
            postgresql_include=["amount", "status"],
        ),
        # 20261129_overdue_index: a plan's open installments and their due dates, so 逾期 reads
        # the table only for the rows that are overdue.
        Index(
            "ix_installments_open_plan",
            "plan_id",
            "due_date",
            "id",
            postgresql_where=OPEN_OUTSTANDING,
            sqlite_where=OPEN_OUTSTANDING,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("payment_plans.id", ondelete="CASCADE"))
    sequence: Mapped[int]
    name: Mapped[str] = mapped_column(String(64))
    trigger: Mapped[str] = mapped_column(String(16), default="on_date")
    trigger_days: Mapped[int] = mapped_column(default=0)
    trigger_event: Mapped[str | None] = mapped_column(String(32))
    milestone_id: Mapped[int | None] = mapped_column(ForeignKey("milestones.id"))
    percent: Mapped[Decimal | None] = mapped_column(Numeric(7, 4))
    fixed_amount: Mapped[Decimal | None] = mapped_column(Money())
    # active_history: a change keeps the old value, which the AR balances subtract
    # (models.ar_balance) even when it was set without being read first.
    amount: Mapped[Decimal] = mapped_column(Money(), active_history=True)
    due_date: Mapped[date | None] = mapped_column(index=True, active_history=True)
    status: Mapped[str] = mapped_column(String(16), default="planned", active_history=True)
    paid_amount: Mapped[Decimal] = mapped_column(
        Money(), default=Decimal("0.00"), active_history=True
    )
    invoiced_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    plan: Mapped[PaymentPlan] = relationship(back_populates="installments")
    milestone: Mapped[Milestone | None] = relationship()
    invoices: Mapped[list[Invoice]] = relationship(back_populates="installment")
    allocations: Mapped[list[ReceiptAllocation]] = relationship(back_populates="installment")

    @property
    def outstanding(self) -> Decimal:
        return self.amount - self.paid_amount


# 数电专票 / 数电普票 / 纸质专票 / 纸质普票 (money.invoices.KIND_ZH has the names).
INVOICE_KINDS = ("e_special", "e_general", "paper_special", "paper_general")
# issued; void (作废); reversed (an issued one cancelled by a red-letter invoice); red (红字发票,
# amounts stored positive, meaning minus).
INVOICE_STATUSES = ("issued", "void", "reversed", "red")


class Invoice(TimestampMixin, Base):
    __tablename__ = "invoices"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    installment_id: Mapped[int] = mapped_column(ForeignKey("installments.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money())
    tax_rate: Mapped[Decimal] = mapped_column(Numeric(5, 4), default=Decimal("0.06"))
    issue_date: Mapped[date]
    status: Mapped[str] = mapped_column(String(16), default="issued")
    void_reason: Mapped[str | None] = mapped_column(Text)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    # 20261129_invoice_fields. The split is null only on invoices issued before it.
    kind: Mapped[str] = mapped_column(String(16), default="e_general", server_default="e_general")
    amount_excl_tax: Mapped[Decimal | None] = mapped_column(Money())
    tax_amount: Mapped[Decimal | None] = mapped_column(Money())
    buyer_name: Mapped[str | None] = mapped_column(String(200))
    buyer_tax_id: Mapped[str | None] = mapped_column(String(32))
    # A red-letter invoice points at the invoice it cancels. No foreign key: adding one to an
    # existing SQLite table means rebuilding `invoices` (see 20261129_money_bounds).
    red_of_id: Mapped[int | None] = mapped_column(index=True)

    installment: Mapped[Installment] = relationship(back_populates="invoices")


class Receipt(TimestampMixin, Base):
    __tablename__ = "receipts"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("credit_amount >= 0", name="credit_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money())
    # What was left after allocation: customer credit.
    credit_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    received_on: Mapped[date]
    method: Mapped[str] = mapped_column(String(16), default="bank")
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    reversed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reverse_reason: Mapped[str | None] = mapped_column(Text)

    customer: Mapped[Customer] = relationship()
    contract: Mapped[Contract | None] = relationship()
    recorded_by: Mapped[Staff | None] = relationship()
    allocations: Mapped[list[ReceiptAllocation]] = relationship(
        back_populates="receipt", cascade="all, delete-orphan"
    )


class ReceiptAllocation(Base):
    __tablename__ = "receipt_allocations"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_id: Mapped[int] = mapped_column(
        ForeignKey("receipts.id", ondelete="CASCADE"), index=True
    )
    installment_id: Mapped[int] = mapped_column(ForeignKey("installments.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money())

    receipt: Mapped[Receipt] = relationship(back_populates="allocations")
    installment: Mapped[Installment] = relationship(back_populates="allocations")


class CreditApplication(Base):
    """Customer credit (a receipt's unallocated `credit_amount`) applied to a later installment.

    The receipt keeps its split (amount = allocated + credit); what is applied is counted here,
    so the credit balance is credits of live receipts - live applications (money.ledger).
    Reversing the source receipt reverses its applications too (`reversed_at`)."""

    __tablename__ = "credit_applications"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipts.id"), index=True)
    installment_id: Mapped[int] = mapped_column(ForeignKey("installments.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money())
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime())
    applied_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    reversed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    receipt: Mapped[Receipt] = relationship()
    installment: Mapped[Installment] = relationship()
