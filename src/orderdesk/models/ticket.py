"""After-sales tickets (售后工单): the ticket, its own timeline, and the two config tables that
drive it (SLA per priority, and the queue = the delivery team of a business line).

The SLA moments are stored, not computed at scan time: the scan is then one conditional UPDATE
per step over an index, whatever the business-hours arithmetic that produced the moments.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orderdesk.models.base import Base, UTCDateTime, utcnow

if TYPE_CHECKING:
    from orderdesk.models.customer import Customer
    from orderdesk.models.order import Order
    from orderdesk.models.project import Project
    from orderdesk.models.staff import BusinessLine, Department, Staff

PRIORITIES = ("P1", "P2", "P3", "P4")
TICKET_STATUSES = ("new", "in_progress", "waiting_client", "resolved", "closed")
OPEN_TICKET_STATUSES = ("new", "in_progress", "waiting_client")
TICKET_STATUS_ZH = {
    "new": "新建",
    "in_progress": "处理中",
    "waiting_client": "待客户反馈",
    "resolved": "已解决",
    "closed": "已关闭",
}
TICKET_CATEGORIES = ("bug", "question", "request", "other")
TICKET_CATEGORY_ZH = {"bug": "故障", "question": "咨询", "request": "需求", "other": "其他"}
# Escalation levels: 1 the assignee (or the queue), 2 their manager, 3 the business line head.
MAX_ESCALATION = 3


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_status_breach", "status", "breach_at"),
        Index("ix_tickets_status_remind", "status", "remind_at"),
        Index("ix_tickets_assignee_status", "assignee_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(16), default="other")
    priority: Mapped[str] = mapped_column(String(2), default="P3")
    status: Mapped[str] = mapped_column(String(16), default="new")
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"))
    business_line_id: Mapped[int | None] = mapped_column(ForeignKey("business_lines.id"))
    # Either a person, or (None) the queue of the business line.
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reopen_count: Mapped[int] = mapped_column(default=0)
    # SLA, fixed from the priority's policy when the clock (re)starts.
    around_the_clock: Mapped[bool] = mapped_column(Boolean, default=False)
    sla_started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # While waiting for the client the SLA clock stands still (set on entering waiting_client).
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_response_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolution_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The next SLA target still open (first response, else resolution) and what follows it.
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    breach_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    escalate2_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    escalate3_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    escalation_level: Mapped[int] = mapped_column(default=0)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set once the ticket missed a target (kept for the hit-rate report).
    breached: Mapped[bool] = mapped_column(Boolean, default=False)

    customer: Mapped[Customer] = relationship()
    order: Mapped[Order] = relationship()
    project: Mapped[Project | None] = relationship()
    business_line: Mapped[BusinessLine | None] = relationship()
    assignee: Mapped[Staff | None] = relationship(foreign_keys=[assignee_id])
    created_by: Mapped[Staff] = relationship(foreign_keys=[created_by_id])
    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", cascade="all, delete-orphan"
    )

    @property
    def status_zh(self) -> str:
        return TICKET_STATUS_ZH.get(self.status, self.status)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_TICKET_STATUSES


class TicketEvent(Base):
    """The ticket's own timeline (the order's timeline gets a copy of each step)."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="events")
    actor: Mapped[Staff | None] = relationship()


class TicketSla(Base):
    """The SLA of one priority (config section `ticket_slas`, code = P1..P4)."""

    __tablename__ = "ticket_slas"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    first_response_minutes: Mapped[int] = mapped_column()
    resolution_minutes: Mapped[int] = mapped_column()
    around_the_clock: Mapped[bool] = mapped_column(Boolean, default=False)
    remind_before_minutes: Mapped[int] = mapped_column(default=30)
    escalate_every_minutes: Mapped[int] = mapped_column(default=120)


class TicketQueue(Base):
    """The queue of a business line (config section `ticket_queues`, code = the line's code):
    its delivery team (a department) and the business line head (last escalation level)."""

    __tablename__ = "ticket_queues"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    business_line_id: Mapped[int] = mapped_column(ForeignKey("business_lines.id"), unique=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    head_userid: Mapped[str | None] = mapped_column(String(64))

    business_line: Mapped[BusinessLine] = relationship()
    department: Mapped[Department | None] = relationship()
