"""Orders and their lines. `version` guards concurrent edits (optimistic locking)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orderdesk.core.search import order_search_text
from orderdesk.models.base import Base, Money, TimestampMixin, UTCDateTime

if TYPE_CHECKING:
    from orderdesk.models.activity import Activity, Attachment
    from orderdesk.models.approval import ApprovalRequest
    from orderdesk.models.catalog import OrderType, ServiceItem
    from orderdesk.models.contract import Contract
    from orderdesk.models.customer import Customer
    from orderdesk.models.money import PaymentPlan
    from orderdesk.models.project import Project
    from orderdesk.models.staff import BusinessLine, Staff

ORDER_STATUSES = (
    "draft",
    "pending_approval",
    "approved",
    "in_progress",
    "delivered",
    "accepted",
    "closed",
    "cancelled",
)
ORDER_STATUS_ZH = {
    "draft": "草稿",
    "pending_approval": "审批中",
    "approved": "已批准",
    "in_progress": "执行中",
    "delivered": "已交付",
    "accepted": "已验收",
    "closed": "已关闭",
    "cancelled": "已取消",
}


class Order(TimestampMixin, Base):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount_non_negative"),
        Index("ix_orders_owner_status", "owner_id", "status"),
        Index("ix_orders_customer_created", "customer_id", "created_at"),
        # 20261129_overdue_index: an owner's order ids from the index alone (逾期).
        Index("ix_orders_owner_id_id", "owner_id", "id"),
        # 20261129_overdue_index: a customer's newest order ids from the index alone (GET
        # /orders?q= narrows to the matching customers' first page before reading rows).
        Index("ix_orders_customer_id_id", "customer_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    order_type_id: Mapped[int] = mapped_column(ForeignKey("order_types.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    business_line_id: Mapped[int | None] = mapped_column(ForeignKey("business_lines.id"))
    status: Mapped[str] = mapped_column(String(24), default="draft", index=True)
    amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    # When set, `amount` was typed in by a person instead of derived from the lines.
    amount_overridden: Mapped[bool] = mapped_column(Boolean, default=False)
    override_reason: Mapped[str | None] = mapped_column(Text)
    discount_rate: Mapped[Decimal] = mapped_column(Numeric(5, 4), default=Decimal("0"))
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # 20261129_loop: number, title and custom-field values for `q` (core.search), kept by the
    # listener below on every insert/update; PostgreSQL indexes it with pg_trgm.
    search_text: Mapped[str | None] = mapped_column(Text)
    status_reason: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(default=1, nullable=False)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))

    __mapper_args__ = {"version_id_col": version}

    order_type: Mapped[OrderType] = relationship()
    customer: Mapped[Customer] = relationship(back_populates="orders")
    contract: Mapped[Contract | None] = relationship(back_populates="orders")
    owner: Mapped[Staff] = relationship(foreign_keys=[owner_id])
    updated_by: Mapped[Staff | None] = relationship(foreign_keys=[updated_by_id])
    business_line: Mapped[BusinessLine | None] = relationship()
    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.position"
    )
    approval_requests: Mapped[list[ApprovalRequest]] = relationship(back_populates="order")
    project: Mapped[Project | None] = relationship(back_populates="order")
    payment_plan: Mapped[PaymentPlan | None] = relationship(back_populates="order")
    activities: Mapped[list[Activity]] = relationship(back_populates="order")
    attachments: Mapped[list[Attachment]] = relationship(back_populates="order")

    def lines_total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))

    @property
    def status_zh(self) -> str:
        return ORDER_STATUS_ZH.get(self.status, self.status)


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price_non_negative"),
        CheckConstraint("amount >= 0", name="amount_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    service_item_id: Mapped[int | None] = mapped_column(ForeignKey("service_items.id"))
    description: Mapped[str] = mapped_column(String(200), default="")
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("1"))
    unit: Mapped[str] = mapped_column(String(16), default="项")
    unit_price: Mapped[Decimal] = mapped_column(Money())
    billing_method: Mapped[str] = mapped_column(String(24), default="fixed")
    amount: Mapped[Decimal] = mapped_column(Money())

    order: Mapped[Order] = relationship(back_populates="lines")
    service_item: Mapped[ServiceItem | None] = relationship()


@event.listens_for(Order, "before_insert")
@event.listens_for(Order, "before_update")
def _keep_search_text(_mapper: Any, _conn: Any, order: Order) -> None:
    # Every ORM write of an order goes through here, whichever service made it.
    order.search_text = order_search_text(order.number, order.title, order.custom_fields)
