"""The timeline (Activity) of orders, customers and projects, and stored attachments."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orderdesk.models.base import Base, UTCDateTime, utcnow

if TYPE_CHECKING:
    from orderdesk.models.contract import Contract
    from orderdesk.models.order import Order
    from orderdesk.models.staff import Staff

ACTIVITY_KINDS = (
    "created",
    "updated",
    "status",
    "approval",
    "comment",
    "progress",
    "payment",
    "invoice",
    "attachment",
    "message",
    "hours",
    "milestone",
    "task",
    "binding",
    "expense",  # reports (issue 13): a project expense recorded
)


class Activity(Base):
    __tablename__ = "activities"
    __table_args__ = (
        Index("ix_activities_order_time", "order_id", "created_at"),
        Index("ix_activities_customer_time", "customer_id", "created_at"),
        Index("ix_activities_project_time", "project_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    body: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Internal entries never reach a client-facing group or notice.
    internal: Mapped[bool] = mapped_column(default=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    actor: Mapped[Staff | None] = relationship()
    order: Mapped[Order | None] = relationship(back_populates="activities")
    attachments: Mapped[list[Attachment]] = relationship(back_populates="activity")


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100), default="application/octet-stream")
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    storage_path: Mapped[str] = mapped_column(String(300))
    uploader_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"))
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activities.id"))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    uploader: Mapped[Staff | None] = relationship()
    order: Mapped[Order | None] = relationship(back_populates="attachments")
    contract: Mapped[Contract | None] = relationship(back_populates="attachments")
    activity: Mapped[Activity | None] = relationship(back_populates="attachments")
