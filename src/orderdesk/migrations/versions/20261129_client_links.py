"""client links: revocable, expiring status links for a client; order types may show phones

Revision ID: 20261129_client_links
Revises: 20261129_money_bounds
Create Date: 2026-11-29 19:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from orderdesk.migrations import types as mtypes

revision = "20261129_client_links"
down_revision = "20261129_money_bounds"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "client_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", mtypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", mtypes.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", mtypes.UTCDateTime(), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.Column("last_viewed_at", mtypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["staff.id"], name=op.f("fk_client_links_created_by_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_client_links_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by_id"], ["staff.id"], name=op.f("fk_client_links_revoked_by_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_links")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_client_links_token_digest")),
    )
    op.create_index(op.f("ix_client_links_order_id"), "client_links", ["order_id"], unique=False)
    with op.batch_alter_table("order_types") as batch:
        batch.add_column(
            sa.Column("client_page_phones", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    op.drop_column("order_types", "client_page_phones")
    op.drop_index(op.f("ix_client_links_order_id"), table_name="client_links")
    op.drop_table("client_links")
