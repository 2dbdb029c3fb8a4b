"""Customers, their contacts, and the opportunities that lead to contracts."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from orderdesk.core.pinyin import initials_of
from orderdesk.models.base import Base, Money, TimestampMixin, UTCDateTime

if TYPE_CHECKING:
    from orderdesk.models.contract import Contract
    from orderdesk.models.order import Order
    from orderdesk.models.staff import BusinessLine, Staff

OPPORTUNITY_STAGES = ("lead", "qualified", "proposal", "negotiation", "won", "lost")


class Customer(TimestampMixin, Base):
    __tablename__ = "customers"
    __table_args__ = (
        # Unique where present: two customers never share a 统一社会信用代码.
        Index("ix_customers_credit_code", "credit_code", unique=True),
        # 20261129_import_keys: the 客户编码 of the company's own sheets, unique where present.
        Index("ix_customers_code", "code", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    short_name: Mapped[str | None] = mapped_column(String(64))
    industry: Mapped[str | None] = mapped_column(String(64))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    external_userid: Mapped[str | None] = mapped_column(String(64), unique=True)
    is_new: Mapped[bool] = mapped_column(default=True)
    # 统一社会信用代码 (GB 32100-2015), validated on the way in (directory/credit_code.py).
    credit_code: Mapped[str | None] = mapped_column(String(18))
    # Pinyin initials of the name ("HZQHSZKJ"), kept for search by initials.
    name_initials: Mapped[str | None] = mapped_column(String(128))
    # Archived customers leave search and pickers; their orders and history stay.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # 20261129_import_keys: external key (客户编码) that makes re-importing a sheet idempotent.
    code: Mapped[str | None] = mapped_column(String(32))

    owner: Mapped[Staff | None] = relationship(back_populates="customers")
    contacts: Mapped[list[Contact]] = relationship(
        back_populates="customer", cascade="all, delete-orphan"
    )
    opportunities: Mapped[list[Opportunity]] = relationship(back_populates="customer")
    contracts: Mapped[list[Contract]] = relationship(back_populates="customer")
    orders: Mapped[list[Order]] = relationship(back_populates="customer")

    @validates("name")
    def _keep_initials(self, _key: str, name: str) -> str:
        # Every way a customer gets its name (API, chat, demo, import) keeps search in step.
        self.name_initials = initials_of(name)
        return name


class Contact(TimestampMixin, Base):
    __tablename__ = "contacts"
    __table_args__ = (Index("ix_contacts_phone", "phone"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(128))
    external_userid: Mapped[str | None] = mapped_column(String(64))

    customer: Mapped[Customer] = relationship(back_populates="contacts")


class Opportunity(TimestampMixin, Base):
    __tablename__ = "opportunities"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    business_line_id: Mapped[int | None] = mapped_column(ForeignKey("business_lines.id"))
    title: Mapped[str] = mapped_column(String(200))
    stage: Mapped[str] = mapped_column(String(16), default="lead")
    expected_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    expected_close_date: Mapped[date | None]
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    close_reason: Mapped[str | None] = mapped_column(Text)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    customer: Mapped[Customer] = relationship(back_populates="opportunities")
    owner: Mapped[Staff | None] = relationship()
    business_line: Mapped[BusinessLine | None] = relationship()
    contracts: Mapped[list[Contract]] = relationship(back_populates="opportunity")
