"""Signed contracts: amount, tax and the structured payment terms the plan is generated from."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orderdesk.models.base import Base, Money, TimestampMixin

if TYPE_CHECKING:
    from orderdesk.models.activity import Attachment
    from orderdesk.models.customer import Customer, Opportunity
    from orderdesk.models.money import PaymentPlan
    from orderdesk.models.order import Order
    from orderdesk.models.staff import BusinessLine

CONTRACT_STATUSES = ("draft", "signed", "active", "completed", "terminated")


class Contract(TimestampMixin, Base):
    __tablename__ = "contracts"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount_non_negative"),
        CheckConstraint("tax_rate >= 0 AND tax_rate < 1", name="tax_rate_range"),
        # 20261129_report_indexes: the month's bookings (revenue report) by signing day.
        Index("ix_contracts_signed_date", "signed_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    opportunity_id: Mapped[int | None] = mapped_column(ForeignKey("opportunities.id"))
    title: Mapped[str] = mapped_column(String(200), default="")
    signed_date: Mapped[date | None]
    amount: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    tax_rate: Mapped[Decimal] = mapped_column(Numeric(5, 4), default=Decimal("0.06"))
    # A list of installment terms, e.g.
    # [{"name": "首付款", "percent": "30", "trigger": "on_signing", "days": 7},
    #  {"name": "验收款", "percent": "70", "trigger": "on_milestone", "milestone": "验收",
    #   "days": 15}]
    payment_terms: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="signed")
    # 20261129_invoice_fields. invoice_first (先票后款): finance invoices an installment as
    # soon as it falls due (told by a card); payment_first (先款后票): after the money is in.
    invoicing_policy: Mapped[str] = mapped_column(
        String(16), default="payment_first", server_default="payment_first"
    )
    # The buyer's tax id for invoices (开票信息 of the contract); the buyer is the customer.
    buyer_tax_id: Mapped[str | None] = mapped_column(String(32))
    # 20261129_loop: the business line the contract is sold under (orders inherit it) and the
    # buyer's name on invoices when it differs from the customer's registered name.
    business_line_id: Mapped[int | None] = mapped_column(ForeignKey("business_lines.id"))
    buyer_name: Mapped[str | None] = mapped_column(String(200))

    customer: Mapped[Customer] = relationship(back_populates="contracts")
    opportunity: Mapped[Opportunity | None] = relationship(back_populates="contracts")
    orders: Mapped[list[Order]] = relationship(back_populates="contract")
    payment_plan: Mapped[PaymentPlan | None] = relationship(back_populates="contract")
    attachments: Mapped[list[Attachment]] = relationship(back_populates="contract")
    business_line: Mapped[BusinessLine | None] = relationship()
