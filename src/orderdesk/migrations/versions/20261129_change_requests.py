"""change requests: change_requests (+ attachments), contract_amendments, order_versions, and
approval_requests.kind / change_request_id

Revision ID: 20261129_change_requests
Revises: 20261129_deliverable_versions
Create Date: 2026-11-29 21:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from orderdesk.migrations import types as mtypes

revision = "20261129_change_requests"
down_revision = "20261129_deliverable_versions"
branch_labels = None
depends_on = None


def _change_requests() -> None:
    op.create_table(
        "change_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("raised_by_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("amount_delta", mtypes.Money(), nullable=False),
        sa.Column("schedule_days", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("submitted_at", mtypes.UTCDateTime(), nullable=True),
        sa.Column("decided_at", mtypes.UTCDateTime(), nullable=True),
        sa.Column("amount_before", mtypes.Money(), nullable=True),
        sa.Column("amount_after", mtypes.Money(), nullable=True),
        sa.Column("created_at", mtypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", mtypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_change_requests_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["raised_by_id"], ["staff.id"], name=op.f("fk_change_requests_raised_by_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_requests")),
        sa.UniqueConstraint("number", name=op.f("uq_change_requests_number")),
        sa.UniqueConstraint(
            "order_id", "sequence", name=op.f("uq_change_requests_order_id_sequence")
        ),
    )
    op.create_index(op.f("ix_change_requests_order_id"), "change_requests", ["order_id"])
    op.create_index(op.f("ix_change_requests_status"), "change_requests", ["status"])
    op.create_table(
        "change_request_attachments",
        sa.Column("change_request_id", sa.Integer(), nullable=False),
        sa.Column("attachment_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["attachment_id"],
            ["attachments.id"],
            name=op.f("fk_change_request_attachments_attachment_id_attachments"),
        ),
        sa.ForeignKeyConstraint(
            ["change_request_id"],
            ["change_requests.id"],
            name=op.f("fk_change_request_attachments_change_request_id_change_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "change_request_id", "attachment_id", name=op.f("pk_change_request_attachments")
        ),
    )


def _amendments_and_versions() -> None:
    op.create_table(
        "contract_amendments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(48), nullable=False),
        sa.Column("change_request_id", sa.Integer(), nullable=False),
        sa.Column("amount_before", mtypes.Money(), nullable=False),
        sa.Column("amount_after", mtypes.Money(), nullable=False),
        sa.Column("schedule_days", sa.Integer(), nullable=False),
        sa.Column("created_at", mtypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["change_request_id"],
            ["change_requests.id"],
            name=op.f("fk_contract_amendments_change_request_id_change_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_contract_amendments_contract_id_contracts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_amendments")),
        sa.UniqueConstraint(
            "change_request_id", name=op.f("uq_contract_amendments_change_request_id")
        ),
        sa.UniqueConstraint(
            "contract_id", "sequence", name=op.f("uq_contract_amendments_contract_id_sequence")
        ),
        sa.UniqueConstraint("number", name=op.f("uq_contract_amendments_number")),
    )
    op.create_index(
        op.f("ix_contract_amendments_contract_id"), "contract_amendments", ["contract_id"]
    )
    op.create_table(
        "order_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("change_request_id", sa.Integer(), nullable=True),
        sa.Column("amount", mtypes.Money(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("created_at", mtypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["change_request_id"],
            ["change_requests.id"],
            name=op.f("fk_order_versions_change_request_id_change_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_order_versions_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_versions")),
        sa.UniqueConstraint("order_id", "version", name=op.f("uq_order_versions_order_id_version")),
    )
    op.create_index(op.f("ix_order_versions_order_id"), "order_versions", ["order_id"])


def upgrade() -> None:
    _change_requests()
    _amendments_and_versions()
    # Plain ADD COLUMN on both databases; no foreign key on change_request_id, because adding
    # one to an existing SQLite table means rebuilding it (and breaks `db downgrade` planning,
    # which runs offline). The model says the same (models.approval).
    op.add_column(
        "approval_requests",
        sa.Column("kind", sa.String(16), nullable=False, server_default="order"),
    )
    op.add_column("approval_requests", sa.Column("change_request_id", sa.Integer(), nullable=True))
    op.create_index(
        op.f("ix_approval_requests_change_request_id"), "approval_requests", ["change_request_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_approval_requests_change_request_id"), "approval_requests")
    op.drop_column("approval_requests", "change_request_id")
    op.drop_column("approval_requests", "kind")
    op.drop_index(op.f("ix_order_versions_order_id"), "order_versions")
    op.drop_table("order_versions")
    op.drop_index(op.f("ix_contract_amendments_contract_id"), "contract_amendments")
    op.drop_table("contract_amendments")
    op.drop_table("change_request_attachments")
    op.drop_index(op.f("ix_change_requests_status"), "change_requests")
    op.drop_index(op.f("ix_change_requests_order_id"), "change_requests")
    op.drop_table("change_requests")
