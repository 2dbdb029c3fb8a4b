"""closing the loop: contracts carry their business line and the buyer's invoicing name

Revision ID: 20261129_loop
Revises: 20261129_customer_master
Create Date: 2026-11-29 21:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "20261129_loop"
down_revision = "20261129_customer_master"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Batch mode so SQLite gets the foreign key too (it cannot ALTER one onto a table).
    with op.batch_alter_table("contracts") as batch:
        batch.add_column(sa.Column("business_line_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("buyer_name", sa.String(length=200), nullable=True))
        batch.create_foreign_key(
            op.f("fk_contracts_business_line_id_business_lines"),
            "business_lines",
            ["business_line_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("contracts") as batch:
        batch.drop_constraint(
            op.f("fk_contracts_business_line_id_business_lines"), type_="foreignkey"
        )
        batch.drop_column("buyer_name")
        batch.drop_column("business_line_id")
