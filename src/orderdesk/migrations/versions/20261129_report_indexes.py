"""report indexes: the open installments, for AR aging at 1M orders

Revision ID: 20261129_report_indexes
Revises: 20261129_loop
Create Date: 2026-11-29 22:20:00

- ix_installments_open: a partial index on the installments still owed (open status, amount
  above what was paid), keyed by plan and carrying due date, amount and paid amount
  (PostgreSQL INCLUDE), so the aging report reads only the open rows, in plan order, from the
  index alone (an index-only scan once autovacuum has marked the pages visible). SQLite gets the
  same partial index without the INCLUDE columns (it has no such clause).
- ix_installments_due_month: a month's installments falling due with plan, amount and status
  (the revenue report's `due` sums per line, index-only on PostgreSQL);
- ix_contracts_signed_date: a month's bookings by signing day (was a scan of all contracts).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "20261129_report_indexes"
down_revision = "20261129_loop"
branch_labels = None
depends_on = None

OPEN = sa.text("status IN ('planned', 'due', 'partially_paid') AND amount > paid_amount")


def upgrade() -> None:
    op.create_index(
        "ix_installments_open",
        "installments",
        ["plan_id", "due_date"],
        postgresql_where=OPEN,
        postgresql_include=["amount", "paid_amount"],
        sqlite_where=OPEN,
    )
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
    op.drop_index("ix_installments_open", table_name="installments")
