"""Approval flows (configured), requests (one per submission), per-approver assignments,
the audit trail of actions, and delegation windows."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orderdesk.models.base import Base, Money, TimestampMixin, UTCDateTime, utcnow

if TYPE_CHECKING:
    from orderdesk.models.change import ChangeRequest
    from orderdesk.models.order import Order
    from orderdesk.models.staff import Staff

APPROVER_KINDS = ("role", "department_head", "owner_manager", "users", "pm_manager")
STEP_MODES = ("any", "all")
REQUEST_STATUSES = ("pending", "approved", "rejected", "withdrawn")
# What a request approves: the order itself, or a change request on it (models.change).
REQUEST_KINDS = ("order", "change")


class ApprovalFlow(TimestampMixin, Base):
    __tablename__ = "approval_flows"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    # Selection: the active flows whose conditions all match; highest priority, then most
    # specific, wins. `conditions` may hold {"order_types": [codes], "new_customer": true,
    # "discount_above": "0.10"}.
    business_line_id: Mapped[int | None] = mapped_column(ForeignKey("business_lines.id"))
    min_amount: Mapped[Decimal | None] = mapped_column(Money())
    max_amount: Mapped[Decimal | None] = mapped_column(Money())
    conditions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    priority: Mapped[int] = mapped_column(default=0)
    remind_after_hours: Mapped[int] = mapped_column(default=24)
    escalate_after_hours: Mapped[int] = mapped_column(default=48)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    steps: Mapped[list[ApprovalStep]] = relationship(
        back_populates="flow", cascade="all, delete-orphan", order_by="ApprovalStep.sequence"
    )


class ApprovalStep(Base):
    __tablename__ = "approval_steps"
    __table_args__ = (UniqueConstraint("flow_id", "sequence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    flow_id: Mapped[int] = mapped_column(ForeignKey("approval_flows.id", ondelete="CASCADE"))
    sequence: Mapped[int]
    name: Mapped[str] = mapped_column(String(64))
    approver_kind: Mapped[str] = mapped_column(String(24))
    # role name for kind=role, comma-separated userids for kind=users, empty otherwise
    approver_value: Mapped[str] = mapped_column(String(500), default="")
    mode: Mapped[str] = mapped_column(String(8), default="any")
    # The step applies only when the order amount is at least this (e.g. finance above 50k).
    min_amount: Mapped[Decimal | None] = mapped_column(Money())
    conditions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    flow: Mapped[ApprovalFlow] = relationship(back_populates="steps")


class ApprovalRequest(TimestampMixin, Base):
    __tablename__ = "approval_requests"
    __table_args__ = (Index("ix_approval_requests_order_status", "order_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    flow_id: Mapped[int] = mapped_column(ForeignKey("approval_flows.id"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # The steps that apply to this request (snapshotted at submission, so a later flow edit
    # does not change a request in flight): [{"sequence": 1, "name": ..., "mode": ...}, ...]
    steps_snapshot: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    current_step: Mapped[int] = mapped_column(default=1)
    step_started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(default=1, nullable=False)
    # 20261129_change_requests
    kind: Mapped[str] = mapped_column(String(16), default="order", server_default="order")
    # No foreign key (see the migration: it would rebuild the table on SQLite).
    change_request_id: Mapped[int | None] = mapped_column(index=True)

    __mapper_args__ = {"version_id_col": version}

    order: Mapped[Order] = relationship(back_populates="approval_requests")
    change_request: Mapped[ChangeRequest | None] = relationship(
        primaryjoin="foreign(ApprovalRequest.change_request_id) == ChangeRequest.id"
    )
    flow: Mapped[ApprovalFlow] = relationship()
    submitted_by: Mapped[Staff] = relationship()
    assignments: Mapped[list[ApprovalAssignment]] = relationship(
        back_populates="request", cascade="all, delete-orphan"
    )
    actions: Mapped[list[ApprovalAction]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="ApprovalAction.id"
    )


class ApprovalAssignment(Base):
    """One approver's slot on one step; holds the card's task id and response code."""

    __tablename__ = "approval_assignments"
    __table_args__ = (
        UniqueConstraint("request_id", "step_sequence", "approver_id"),
        Index("ix_approval_assignments_approver_status", "approver_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("approval_requests.id", ondelete="CASCADE"))
    step_sequence: Mapped[int]
    approver_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    card_task_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    response_code: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    request: Mapped[ApprovalRequest] = relationship(back_populates="assignments")
    approver: Mapped[Staff] = relationship()


class ApprovalAction(Base):
    __tablename__ = "approval_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("approval_requests.id", ondelete="CASCADE"), index=True
    )
    step_sequence: Mapped[int]
    actor_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    # Set when the actor decided as a delegate: "代 X 审批".
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    decision: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    request: Mapped[ApprovalRequest] = relationship(back_populates="actions")
    actor: Mapped[Staff] = relationship(foreign_keys=[actor_id])
    on_behalf_of: Mapped[Staff | None] = relationship(foreign_keys=[on_behalf_of_id])


class Delegation(TimestampMixin, Base):
    __tablename__ = "delegations"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    substitute_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    reason: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    staff: Mapped[Staff] = relationship(foreign_keys=[staff_id])
    substitute: Mapped[Staff] = relationship(foreign_keys=[substitute_id])
