"""closing the loop: contracts carry their business line and the buyer's invoicing name;
project members added by hand

Revision ID: 20261129_loop
Revises: 20261129_customer_master
Create Date: 2026-11-29 21:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from orderdesk.migrations import types as mtypes

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


    op.create_table(
        "project_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("added_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", mtypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", mtypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_project_members_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_project_members_staff_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["added_by_id"], ["staff.id"], name=op.f("fk_project_members_added_by_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_members")),
        sa.UniqueConstraint(
            "project_id", "staff_id", name=op.f("uq_project_members_project_id_staff_id")
        ),
    )
    op.create_index(op.f("ix_project_members_project_id"), "project_members", ["project_id"])
    op.create_index(op.f("ix_project_members_staff_id"), "project_members", ["staff_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_project_members_staff_id"), table_name="project_members")
    op.drop_index(op.f("ix_project_members_project_id"), table_name="project_members")
    op.drop_table("project_members")
    with op.batch_alter_table("contracts") as batch:
        batch.drop_constraint(
            op.f("fk_contracts_business_line_id_business_lines"), type_="foreignkey"
        )
        batch.drop_column("buyer_name")
        batch.drop_column("business_line_id")
