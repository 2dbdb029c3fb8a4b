"""project expenses, budgeted hours, company settings (report config); report indexes

Revision ID: 20261129_project_expenses
Revises: 20261129_tickets
Create Date: 2026-11-29 21:15:00

- project_expenses: what a project spent besides labour (category, amount, day, receipt photo),
  subtracted in the profitability report;
- projects.budget_hours: the hours a project was sold with (budgeted vs logged);
- company_settings: small named JSON documents set through the YAML company config (the
  `reporting` section: cost rates per role, hours per working day, journal account codes);
- ix_time_entries_date_staff: utilisation reads a month of hour entries by day.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from orderdesk.migrations import types as mtypes

revision = "20261129_project_expenses"
down_revision = "20261129_tickets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "project_expenses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("amount", mtypes.Money(), nullable=False),
        sa.Column("spent_on", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("attachment_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", mtypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", mtypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_project_expenses_amount_positive")),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_project_expenses_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["attachment_id"],
            ["attachments.id"],
            name=op.f("fk_project_expenses_attachment_id_attachments"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["staff.id"], name=op.f("fk_project_expenses_recorded_by_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_expenses")),
    )
    op.create_index(
        "ix_project_expenses_project_spent", "project_expenses", ["project_id", "spent_on"]
    )
    op.create_table(
        "company_settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", mtypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_company_settings")),
    )
    op.add_column("projects", sa.Column("budget_hours", sa.Numeric(10, 2), nullable=True))
    op.create_index("ix_time_entries_date_staff", "time_entries", ["work_date", "staff_id"])


def downgrade() -> None:
    op.drop_index("ix_time_entries_date_staff", table_name="time_entries")
    # Plain DROP COLUMN (SQLite >= 3.35), as 20261129_customer_master does.
    op.drop_column("projects", "budget_hours")
    op.drop_table("company_settings")
    op.drop_index("ix_project_expenses_project_spent", table_name="project_expenses")
    op.drop_table("project_expenses")
