"""import keys: customers.code (客户编码, unique where present) and the import_runs table

Revision ID: 20261129_import_keys
Revises: 20261129_project_expenses
Create Date: 2026-11-29 21:10:00

Contracts, orders and receipts already carry unique numbers (合同编号, 订单编号, 回款流水号);
customers had no key of their own, so a re-imported customer sheet could not be matched.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from orderdesk.migrations import types as mtypes

revision = "20261129_import_keys"
down_revision = "20261129_project_expenses"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("customers", sa.Column("code", sa.String(32), nullable=True))
    op.create_index("ix_customers_code", "customers", ["code"], unique=True)
    op.create_table(
        "import_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("stored_path", sa.String(length=300), nullable=False),
        sa.Column("error_path", sa.String(length=300), nullable=True),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("skip_invalid", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=True),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("done_rows", sa.Integer(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", mtypes.UTCDateTime(), nullable=False),
        sa.Column("finished_at", mtypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["staff.id"], name=op.f("fk_import_runs_created_by_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_runs")),
    )
    op.create_index(
        op.f("ix_import_runs_created_by_id"), "import_runs", ["created_by_id"], unique=False
    )
    op.create_index(op.f("ix_import_runs_status"), "import_runs", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_import_runs_status"), table_name="import_runs")
    op.drop_index(op.f("ix_import_runs_created_by_id"), table_name="import_runs")
    op.drop_table("import_runs")
    op.drop_index("ix_customers_code", table_name="customers")
    op.drop_column("customers", "code")
