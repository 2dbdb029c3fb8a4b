"""ar balances: the aging per bucket kept on write

Revision ID: 20261130_ar_balances
Revises: 20261130_group_robot
Create Date: 2026-11-30 00:40:00

`ar_balances` holds outstanding receivables in cents per (dimension, key, bucket) for the
customer, owner and business-line views of the AR aging; `ar_balance_state` (one row) names the
day they are bucketed for. The row starts with no day: nothing is kept until the first rebuild
(`orderdesk reports rebuild-balances`, the nightly job, or the job queued at start-up), and
until then the aging reads the installments as before. See models.ar_balance.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "20261130_ar_balances"
down_revision = "20261130_group_robot"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ar_balance_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Date(), nullable=True),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ar_balance_state")),
    )
    op.create_table(
        "ar_balances",
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("key_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("bucket", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("cents", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("dimension", "key_id", "bucket", name=op.f("pk_ar_balances")),
    )
    op.execute("INSERT INTO ar_balance_state (id, day) VALUES (1, NULL)")


def downgrade() -> None:
    op.drop_table("ar_balances")
    op.drop_table("ar_balance_state")
