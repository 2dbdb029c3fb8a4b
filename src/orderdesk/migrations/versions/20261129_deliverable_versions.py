"""deliverable versions with client sign-off; milestones may require it; sign-off links

Revision ID: 20261129_deliverable_versions
Revises: 20261129_customer_master
Create Date: 2026-11-29 21:00:00

A sign-off link is a `client_links` row with `version_id` set: the same token scheme as the
status link (random token, only its keyed digest stored), bound to one deliverable version.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from orderdesk.migrations import types as mtypes

revision = "20261129_deliverable_versions"
down_revision = "20261129_customer_master"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deliverable_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deliverable_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("attachment_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", mtypes.UTCDateTime(), nullable=False),
        sa.Column("superseded_at", mtypes.UTCDateTime(), nullable=True),
        sa.Column("signoff_status", sa.String(length=16), nullable=True),
        sa.Column("signoff_at", mtypes.UTCDateTime(), nullable=True),
        sa.Column("signoff_comment", sa.Text(), nullable=True),
        sa.CheckConstraint("number >= 1", name=op.f("ck_deliverable_versions_number_positive")),
        sa.ForeignKeyConstraint(
            ["attachment_id"],
            ["attachments.id"],
            name=op.f("fk_deliverable_versions_attachment_id_attachments"),
        ),
        sa.ForeignKeyConstraint(
            ["deliverable_id"],
            ["deliverables.id"],
            name=op.f("fk_deliverable_versions_deliverable_id_deliverables"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["staff.id"],
            name=op.f("fk_deliverable_versions_uploaded_by_id_staff"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliverable_versions")),
        sa.UniqueConstraint(
            "deliverable_id", "number", name=op.f("uq_deliverable_versions_deliverable_id_number")
        ),
    )
    op.create_index(
        op.f("ix_deliverable_versions_deliverable_id"),
        "deliverable_versions",
        ["deliverable_id"],
        unique=False,
    )
    with op.batch_alter_table("milestones") as batch:
        batch.add_column(
            sa.Column("requires_signoff", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    # `copy_from`: SQLite's batch mode then needs no reflection, so `orderdesk db downgrade`
    # can preview the SQL offline (and upgrade works the same either way).
    with op.batch_alter_table("client_links", copy_from=_client_links(False)) as batch:
        batch.add_column(sa.Column("version_id", sa.Integer(), nullable=True))
        batch.create_index(batch.f("ix_client_links_version_id"), ["version_id"], unique=False)
        batch.create_foreign_key(
            batch.f("fk_client_links_version_id_deliverable_versions"),
            "deliverable_versions",
            ["version_id"],
            ["id"],
        )

def downgrade() -> None:
    with op.batch_alter_table("client_links", copy_from=_client_links(True)) as batch:
        batch.drop_constraint(
            batch.f("fk_client_links_version_id_deliverable_versions"), type_="foreignkey"
        )
        batch.drop_index(batch.f("ix_client_links_version_id"))
        batch.drop_column("version_id")
    # Plain DROP COLUMN (SQLite >= 3.35 has it): no reflection needed for an offline preview.
    op.drop_column("milestones", "requires_signoff")
    op.drop_index(
        op.f("ix_deliverable_versions_deliverable_id"), table_name="deliverable_versions"
    )
    op.drop_table("deliverable_versions")


def _client_links(with_version: bool) -> sa.Table:
    """client_links as 20261129_client_links made it (and with this revision's column)."""
    meta = sa.MetaData()
    sa.Table("orders", meta, sa.Column("id", sa.Integer(), primary_key=True))
    sa.Table("staff", meta, sa.Column("id", sa.Integer(), primary_key=True))
    sa.Table("deliverable_versions", meta, sa.Column("id", sa.Integer(), primary_key=True))
    extra: list[sa.SchemaItem] = []
    if with_version:
        extra = [
            sa.Column("version_id", sa.Integer(), nullable=True),
            sa.ForeignKeyConstraint(
                ["version_id"],
                ["deliverable_versions.id"],
                name="fk_client_links_version_id_deliverable_versions",
            ),
            sa.Index("ix_client_links_version_id", "version_id"),
        ]
    return sa.Table(
        "client_links",
        meta,
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
            ["created_by_id"], ["staff.id"], name="fk_client_links_created_by_id_staff"
        ),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name="fk_client_links_order_id_orders"),
        sa.ForeignKeyConstraint(
            ["revoked_by_id"], ["staff.id"], name="fk_client_links_revoked_by_id_staff"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_client_links"),
        sa.UniqueConstraint("token_digest", name="uq_client_links_token_digest"),
        sa.Index("ix_client_links_order_id", "order_id"),
        *extra,
    )
