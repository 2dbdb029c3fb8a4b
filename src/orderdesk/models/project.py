"""Delivery: project templates, projects, tasks, milestones, deliverables and timesheets."""

from __future__ import annotations

from datetime import date, datetime
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
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orderdesk.models.base import Base, Money, TimestampMixin, UTCDateTime, utcnow

if TYPE_CHECKING:
    from orderdesk.models.activity import Attachment
    from orderdesk.models.order import Order
    from orderdesk.models.staff import Staff


class ProjectTemplate(TimestampMixin, Base):
    __tablename__ = "project_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    # [{"title": "需求调研", "offset_days": 7, "owner_role": "pm"}, ...]
    tasks: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # [{"name": "上线", "offset_days": 30}, {"name": "验收", "offset_days": 45}]
    milestones: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class Project(TimestampMixin, Base):
    __tablename__ = "projects"
    __table_args__ = (CheckConstraint("budget >= 0", name="budget_non_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    pm_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    start_date: Mapped[date | None]
    end_date: Mapped[date | None]
    budget: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    # The hours the project was sold with (profitability: budgeted vs logged); None = not set.
    budget_hours: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))

    order: Mapped[Order] = relationship(back_populates="project")
    pm: Mapped[Staff | None] = relationship()
    tasks: Mapped[list[Task]] = relationship(
        back_populates="project", cascade="all, delete-orphan", order_by="Task.id"
    )
    milestones: Mapped[list[Milestone]] = relationship(
        back_populates="project", cascade="all, delete-orphan", order_by="Milestone.sequence"
    )
    deliverables: Mapped[list[Deliverable]] = relationship(
        back_populates="project", cascade="all, delete-orphan"
    )
    time_entries: Mapped[list[TimeEntry]] = relationship(back_populates="project")
    # People added to the team by hand (beyond PM, order owner and task owners).
    added_members: Mapped[list[ProjectMember]] = relationship(
        back_populates="project", cascade="all, delete-orphan", order_by="ProjectMember.id"
    )


class Task(TimestampMixin, Base):
    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    owner_role: Mapped[str | None] = mapped_column(String(16))
    due_date: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(16), default="todo")
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    project: Mapped[Project] = relationship(back_populates="tasks")
    owner: Mapped[Staff | None] = relationship()


class Milestone(TimestampMixin, Base):
    __tablename__ = "milestones"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    sequence: Mapped[int] = mapped_column(default=1)
    name: Mapped[str] = mapped_column(String(64))
    due_date: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    # Accepting is refused until the client signed off every deliverable's current version.
    requires_signoff: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    project: Mapped[Project] = relationship(back_populates="milestones")
    deliverables: Mapped[list[Deliverable]] = relationship(back_populates="milestone")


class Deliverable(TimestampMixin, Base):
    __tablename__ = "deliverables"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    milestone_id: Mapped[int | None] = mapped_column(ForeignKey("milestones.id"))
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"))
    note: Mapped[str | None] = mapped_column(Text)

    project: Mapped[Project] = relationship(back_populates="deliverables")
    milestone: Mapped[Milestone | None] = relationship(back_populates="deliverables")
    attachment: Mapped[Attachment | None] = relationship()
    versions: Mapped[list[DeliverableVersion]] = relationship(
        back_populates="deliverable",
        cascade="all, delete-orphan",
        order_by="DeliverableVersion.number",
    )


class TimeEntry(TimestampMixin, Base):
    __tablename__ = "time_entries"
    __table_args__ = (
        CheckConstraint("hours > 0 AND hours <= 24", name="hours_range"),
        Index("ix_time_entries_project_date", "project_id", "work_date"),
        Index("ix_time_entries_date_staff", "work_date", "staff_id"),  # utilisation by month
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    work_date: Mapped[date]
    hours: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    billable: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[str | None] = mapped_column(Text)

    staff: Mapped[Staff] = relationship()
    project: Mapped[Project] = relationship(back_populates="time_entries")
    task: Mapped[Task | None] = relationship()


SIGNOFF_STATES = ("requested", "approved", "changes")


class DeliverableVersion(Base):
    """One uploaded version (v1, v2 …) of a deliverable. The current one is the version without
    `superseded_at`; older ones stay downloadable. The client's sign-off is on the version."""

    __tablename__ = "deliverable_versions"
    __table_args__ = (
        UniqueConstraint("deliverable_id", "number"),
        CheckConstraint("number >= 1", name="number_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    deliverable_id: Mapped[int] = mapped_column(
        ForeignKey("deliverables.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int]
    attachment_id: Mapped[int] = mapped_column(ForeignKey("attachments.id"))
    note: Mapped[str | None] = mapped_column(Text)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # None until staff ask for it; then requested -> approved | changes (the client's answer).
    signoff_status: Mapped[str | None] = mapped_column(String(16))
    signoff_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    signoff_comment: Mapped[str | None] = mapped_column(Text)

    deliverable: Mapped[Deliverable] = relationship(back_populates="versions")
    attachment: Mapped[Attachment] = relationship()
    uploaded_by: Mapped[Staff] = relationship()

    @property
    def label(self) -> str:
        return f"v{self.number}"

    @property
    def current(self) -> bool:
        return self.superseded_at is None


class ProjectExpense(TimestampMixin, Base):
    """What a project spent besides labour (travel, materials ...), with its receipt photo."""

    __tablename__ = "project_expenses"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_project_expenses_project_spent", "project_id", "spent_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(Money())
    spent_on: Mapped[date]
    note: Mapped[str | None] = mapped_column(Text)
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))

    project: Mapped[Project] = relationship()
    attachment: Mapped[Attachment | None] = relationship()
    recorded_by: Mapped[Staff | None] = relationship()


class ProjectMember(TimestampMixin, Base):
    """A person added to a project's team (20261129_loop): they see its order (without money
    unless their role allows), post progress and log hours like a task owner."""

    __tablename__ = "project_members"
    __table_args__ = (UniqueConstraint("project_id", "staff_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))

    project: Mapped[Project] = relationship(back_populates="added_members")
    staff: Mapped[Staff] = relationship(foreign_keys=[staff_id])
