"""tickets: after-sales tickets with SLA, their timeline, SLA policies and business-line queues

Revision ID: 20261129_tickets
Revises: 20261129_change_requests
Create Date: 2026-11-29 21:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from orderdesk.migrations import types as mtypes

revision = "20261129_tickets"
down_revision = "20261129_change_requests"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def _sla_tables() -> None:
    op.create_table(
        "ticket_slas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("first_response_minutes", sa.Integer(), nullable=False),
        sa.Column("resolution_minutes", sa.Integer(), nullable=False),
        sa.Column("around_the_clock", sa.Boolean(), nullable=False),
        sa.Column("remind_before_minutes", sa.Integer(), nullable=False),
        sa.Column("escalate_every_minutes", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_slas")),
        sa.UniqueConstraint("code", name=op.f("uq_ticket_slas_code")),
    )
    op.create_table(
        "ticket_queues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("business_line_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("head_userid", sa.String(length=64), nullable=True),
        _fk("ticket_queues", "business_line_id", "business_lines"),
        _fk("ticket_queues", "department_id", "departments"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_queues")),
        sa.UniqueConstraint("business_line_id", name=op.f("uq_ticket_queues_business_line_id")),
        sa.UniqueConstraint("code", name=op.f("uq_ticket_queues_code")),
    )


def _ticket_columns() -> list[sa.Column[object]]:
    when = mtypes.UTCDateTime
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.String(length=2), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("business_line_id", sa.Integer(), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", when(), nullable=False),
        sa.Column("updated_at", when(), nullable=False),
        sa.Column("first_response_at", when(), nullable=True),
        sa.Column("resolved_at", when(), nullable=True),
        sa.Column("closed_at", when(), nullable=True),
        sa.Column("reopen_count", sa.Integer(), nullable=False),
        sa.Column("around_the_clock", sa.Boolean(), nullable=False),
        sa.Column("sla_started_at", when(), nullable=False),
        sa.Column("paused_at", when(), nullable=True),
        sa.Column("first_response_due_at", when(), nullable=False),
        sa.Column("resolution_due_at", when(), nullable=False),
        sa.Column("remind_at", when(), nullable=True),
        sa.Column("reminded_at", when(), nullable=True),
        sa.Column("breach_at", when(), nullable=True),
        sa.Column("escalate2_at", when(), nullable=True),
        sa.Column("escalate3_at", when(), nullable=True),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("escalated_at", when(), nullable=True),
        sa.Column("breached", sa.Boolean(), nullable=False),
    ]


def upgrade() -> None:
    _sla_tables()
    op.create_table(
        "tickets",
        *_ticket_columns(),
        _fk("tickets", "assignee_id", "staff"),
        _fk("tickets", "business_line_id", "business_lines"),
        _fk("tickets", "created_by_id", "staff"),
        _fk("tickets", "customer_id", "customers"),
        _fk("tickets", "order_id", "orders"),
        _fk("tickets", "project_id", "projects"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
        sa.UniqueConstraint("number", name=op.f("uq_tickets_number")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # The SLA scan updates columns no index covers: room on each page lets PostgreSQL
        # update in place (HOT) instead of adding an entry to all seven indexes per row.
        op.execute("ALTER TABLE tickets SET (fillfactor = 70)")
    op.create_index("ix_tickets_assignee_status", "tickets", ["assignee_id", "status"])
    op.create_index("ix_tickets_status_breach", "tickets", ["status", "breach_at"])
    op.create_index("ix_tickets_status_remind", "tickets", ["status", "remind_at"])
    op.create_index(op.f("ix_tickets_customer_id"), "tickets", ["customer_id"])
    op.create_index(op.f("ix_tickets_order_id"), "tickets", ["order_id"])
    op.create_table(
        "ticket_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", mtypes.UTCDateTime(), nullable=False),
        _fk("ticket_events", "actor_id", "staff"),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_events_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_events")),
    )
    op.create_index(op.f("ix_ticket_events_ticket_id"), "ticket_events", ["ticket_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_ticket_events_ticket_id"), table_name="ticket_events")
    op.drop_table("ticket_events")
    for name in (
        "ix_tickets_order_id",
        "ix_tickets_customer_id",
        "ix_tickets_status_remind",
        "ix_tickets_status_breach",
        "ix_tickets_assignee_status",
    ):
        op.drop_index(name, table_name="tickets")
    op.drop_table("tickets")
    op.drop_table("ticket_queues")
    op.drop_table("ticket_slas")
