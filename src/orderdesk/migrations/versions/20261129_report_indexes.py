"""report indexes: the revenue report's month of installments due and of bookings

Revision ID: 20261129_report_indexes
Revises: 20261129_loop
Create Date: 2026-11-29 22:20:00

- ix_installments_due_month: a month's installments falling due with plan, amount and status
  (the revenue report's `due` sums per line, index-only on PostgreSQL);
- ix_contracts_signed_date: a month's bookings by signing day (was a scan of all contracts).
"""

from __future__ import annotations

from alembic import op

revision = "20261129_report_indexes"
down_revision = "20261129_loop"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_installments_due_month",
        "installments",
        ["due_date", "plan_id"],
        postgresql_include=["amount", "status"],
    )
    op.create_index("ix_contracts_signed_date", "contracts", ["signed_date"])


def downgrade() -> None:
    op.drop_index("ix_contracts_signed_date", table_name="contracts")
    op.drop_index("ix_installments_due_month", table_name="installments")
