"""overdue index: 逾期 bounded by the sales person's overdue rows, not by the table

Revision ID: 20261129_overdue_index
Revises: 20261129_report_indexes
Create Date: 2026-11-29 22:20:00

`money.collections.overdue_for` first collects the ids of the overdue installments in scope
from three indexes alone (an owner's order ids, each order's plan id, each plan's open
installments with their due dates), then reads the rows of only those. The installments index
is partial: it holds the installments still open with money left to pay. Valid on SQLite too
(partial indexes since 3.8). `orders (customer_id, id)` serves GET /orders?q=: a matching
customer's newest order ids without reading the orders (orders.queries._top_ids).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "20261129_overdue_index"
down_revision = "20261129_report_indexes"
branch_labels = None
depends_on = None

OPEN_OUTSTANDING = "status IN ('planned', 'due', 'partially_paid') AND amount > paid_amount"


def upgrade() -> None:
    op.create_index("ix_orders_owner_id_id", "orders", ["owner_id", "id"])
    op.create_index("ix_orders_customer_id_id", "orders", ["customer_id", "id"])
    op.create_index("ix_payment_plans_order_id_id", "payment_plans", ["order_id", "id"])
    op.create_index(
        "ix_installments_open_plan",
        "installments",
        ["plan_id", "due_date", "id"],
        postgresql_where=sa.text(OPEN_OUTSTANDING),
        sqlite_where=sa.text(OPEN_OUTSTANDING),
    )


def downgrade() -> None:
    op.drop_index("ix_installments_open_plan", table_name="installments")
    op.drop_index("ix_payment_plans_order_id_id", table_name="payment_plans")
    op.drop_index("ix_orders_customer_id_id", table_name="orders")
    op.drop_index("ix_orders_owner_id_id", table_name="orders")
