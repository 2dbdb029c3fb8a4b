"""Change requests (变更单) on an order, contract amendments (补充协议) and order versions.

A change request is numbered per order (`SO-2026-0001-C1`, `-C2` ...); an approved one amends
the order, records an amendment numbered per contract (`HT-2026-001-补1`) and adds an order
version (v1 is the original, snapshotted when the first change is approved)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Column, ForeignKey, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orderdesk.models.base import Base, Money, TimestampMixin, UTCDateTime, utcnow

if TYPE_CHECKING:
    from orderdesk.models.activity import Attachment
    from orderdesk.models.contract import Contract
    from orderdesk.models.order import Order
    from orderdesk.models.staff import Staff

CHANGE_STATUSES = ("draft", "pending", "approved", "rejected", "withdrawn")
CHANGE_STATUS_ZH = {
    "draft": "草稿",
    "pending": "审批中",
    "approved": "已批准",
    "rejected": "已驳回",
    "withdrawn": "已撤回",
}

# The existing Attachment rows, linked without touching the attachments table.
change_request_attachments = Table(
    "change_request_attachments",
    Base.metadata,
    Column(
        "change_request_id",
        ForeignKey("change_requests.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("attachment_id", ForeignKey("attachments.id"), primary_key=True),
)


class ChangeRequest(TimestampMixin, Base):
    __tablename__ = "change_requests"
    __table_args__ = (UniqueConstraint("order_id", "sequence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    sequence: Mapped[int]
    raised_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    scope: Mapped[str] = mapped_column(Text, default="")
    # Signed: +30000.00 adds to the order, -5000.00 takes off.
    amount_delta: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    # Calendar days, signed: +14 postpones, -3 brings forward.
    schedule_days: Mapped[int] = mapped_column(default=0)
    reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    amount_before: Mapped[Decimal | None] = mapped_column(Money())
    amount_after: Mapped[Decimal | None] = mapped_column(Money())

    order: Mapped[Order] = relationship()
    raised_by: Mapped[Staff] = relationship()
    attachments: Mapped[list[Attachment]] = relationship(secondary=change_request_attachments)

    @property
    def status_zh(self) -> str:
        return CHANGE_STATUS_ZH.get(self.status, self.status)


class ContractAmendment(Base):
    __tablename__ = "contract_amendments"
    __table_args__ = (UniqueConstraint("contract_id", "sequence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    sequence: Mapped[int]
    number: Mapped[str] = mapped_column(String(48), unique=True)
    change_request_id: Mapped[int] = mapped_column(ForeignKey("change_requests.id"), unique=True)
    amount_before: Mapped[Decimal] = mapped_column(Money())
    amount_after: Mapped[Decimal] = mapped_column(Money())
    schedule_days: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    contract: Mapped[Contract] = relationship()
    change_request: Mapped[ChangeRequest] = relationship()


class OrderVersion(Base):
    __tablename__ = "order_versions"
    __table_args__ = (UniqueConstraint("order_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    version: Mapped[int]
    # None for v1 (the original order).
    change_request_id: Mapped[int | None] = mapped_column(ForeignKey("change_requests.id"))
    amount: Mapped[Decimal] = mapped_column(Money())
    # {"lines": [...], "installments": [...], "milestones": [...], "end_date": ...}
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    change_request: Mapped[ChangeRequest | None] = relationship()
