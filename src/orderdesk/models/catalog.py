"""What the company sells: order types (with custom-field schemas) and service items."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, String
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orderdesk.models.base import Base, Money, TimestampMixin

if TYPE_CHECKING:
    from orderdesk.models.approval import ApprovalFlow
    from orderdesk.models.project import ProjectTemplate
    from orderdesk.models.staff import BusinessLine

BILLING_METHODS = ("fixed", "milestone", "time_and_materials", "subscription")


class OrderType(TimestampMixin, Base):
    __tablename__ = "order_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    business_line_id: Mapped[int | None] = mapped_column(ForeignKey("business_lines.id"))
    # [{"key": "site", "label": "实施地点", "type": "string", "required": true, "max": 50}, ...]
    field_schema: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    default_billing_method: Mapped[str] = mapped_column(String(24), default="fixed")
    approval_flow_id: Mapped[int | None] = mapped_column(ForeignKey("approval_flows.id"))
    project_template_id: Mapped[int | None] = mapped_column(ForeignKey("project_templates.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The client status page names the PM and sales owner; their mobile numbers only when the
    # order type says so (a retainer client may call the PM; a one-off project goes via sales).
    client_page_phones: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=sa_false()
    )

    business_line: Mapped[BusinessLine | None] = relationship()
    approval_flow: Mapped[ApprovalFlow | None] = relationship(foreign_keys=[approval_flow_id])
    project_template: Mapped[ProjectTemplate | None] = relationship()


class ServiceItem(TimestampMixin, Base):
    __tablename__ = "service_items"
    __table_args__ = (
        CheckConstraint("unit_price >= 0", name="unit_price_non_negative"),
        CheckConstraint("cost_estimate >= 0", name="cost_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    unit: Mapped[str] = mapped_column(String(16), default="项")
    unit_price: Mapped[Decimal] = mapped_column(Money())
    cost_estimate: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    billing_method: Mapped[str] = mapped_column(String(24), default="fixed")
    business_line_id: Mapped[int | None] = mapped_column(ForeignKey("business_lines.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
