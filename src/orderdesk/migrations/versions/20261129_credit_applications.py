"""credit applications: customer credit applied to a later installment

Revision ID: 20261129_credit_applications
Revises: 20261129_money_bounds
Create Date: 2026-11-29 19:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from orderdesk.migrations import types as mtypes

revision = "20261129_credit_applications"
down_revision = "20261129_client_links"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credit_applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("receipt_id", sa.Integer(), nullable=False),
        sa.Column("installment_id", sa.Integer(), nullable=False),
        sa.Column("amount", mtypes.Money(), nullable=False),
        sa.Column("applied_at", mtypes.UTCDateTime(), nullable=False),
        sa.Column("applied_by_id", sa.Integer(), nullable=True),
        sa.Column("reversed_at", mtypes.UTCDateTime(), nullable=True),
        sa.CheckConstraint("amount > 0", name=op.f("ck_credit_applications_amount_positive")),
        sa.ForeignKeyConstraint(
            ["applied_by_id"],
            ["staff.id"],
            name=op.f("fk_credit_applications_applied_by_id_staff"),
        ),
        sa.ForeignKeyConstraint(
            ["installment_id"],
            ["installments.id"],
            name=op.f("fk_credit_applications_installment_id_installments"),
        ),
        sa.ForeignKeyConstraint(
            ["receipt_id"], ["receipts.id"], name=op.f("fk_credit_applications_receipt_id_receipts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_applications")),
    )
    op.create_index(
        op.f("ix_credit_applications_installment_id"), "credit_applications", ["installment_id"]
    )
    op.create_index(
        op.f("ix_credit_applications_receipt_id"), "credit_applications", ["receipt_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_credit_applications_receipt_id"), "credit_applications")
    op.drop_index(op.f("ix_credit_applications_installment_id"), "credit_applications")
    op.drop_table("credit_applications")
