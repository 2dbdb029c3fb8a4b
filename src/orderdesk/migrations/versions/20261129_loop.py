"""closing the loop: contracts carry their business line and the buyer's invoicing name;
project members added by hand; orders.search_text for `q` (trigram-indexed on PostgreSQL)

Revision ID: 20261129_loop
Revises: 20261129_import_keys
Create Date: 2026-11-29 21:10:00

The trigram index (pg_trgm, GIN) exists on PostgreSQL only: SQLite has no such index and scans
(its databases are small). `CREATE EXTENSION pg_trgm` (in schema public) needs a role allowed to create it (a
superuser, or the database owner on PostgreSQL 13+, where pg_trgm is a trusted extension).
env.py leaves `*_trgm` indexes out of the model comparison for that reason.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import context, op

from orderdesk.core.search import order_search_text
from orderdesk.migrations import types as mtypes

revision = "20261129_loop"
down_revision = "20261129_import_keys"
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
    op.add_column("orders", sa.Column("search_text", sa.Text(), nullable=True))
    if context.is_offline_mode():
        return  # printing the plan: no rows to fill
    _fill_search_text()
    if op.get_bind().dialect.name == "postgresql":
        schema = _trigram_schema()
        op.execute(
            "CREATE INDEX IF NOT EXISTS ix_orders_search_trgm ON orders "
            f'USING gin (search_text "{schema}".gin_trgm_ops)'
        )


def _trigram_schema() -> str:
    """The schema pg_trgm lives in, creating it in `public` when missing. Never in the
    migrated schema: dropping that schema (a test run, a bench) would drop the extension and
    with it every other schema's trigram index. The advisory lock makes parallel migrations
    of several schemas of one database take turns here."""
    bind = op.get_bind()
    bind.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('orderdesk:pg_trgm'))"))
    find = sa.text(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
        " WHERE e.extname = 'pg_trgm'"
    )
    schema = bind.scalar(find)
    if schema is None:
        bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public"))
        schema = bind.scalar(find)
    return str(schema)


def _fill_search_text() -> None:
    """Existing orders get the text the model's listener keeps for new and edited ones."""
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, number, title, custom_fields FROM orders"))
    update = sa.text("UPDATE orders SET search_text = :t WHERE id = :i")
    for order_id, number, title, custom in rows.all():
        if isinstance(custom, str):
            custom = json.loads(custom or "{}")
        bind.execute(update, {"t": order_search_text(number, title, custom), "i": order_id})


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_orders_search_trgm")
    op.drop_column("orders", "search_text")
    op.drop_index(op.f("ix_project_members_staff_id"), table_name="project_members")
    op.drop_index(op.f("ix_project_members_project_id"), table_name="project_members")
    op.drop_table("project_members")
    fk = op.f("fk_contracts_business_line_id_business_lines")
    sqlite = op.get_context().dialect.name == "sqlite"
    if sqlite and not context.is_offline_mode():
        # SQLite cannot drop a column a foreign key names: batch mode rebuilds the table.
        with op.batch_alter_table("contracts") as batch:
            batch.drop_constraint(fk, type_="foreignkey")
            batch.drop_column("buyer_name")
            batch.drop_column("business_line_id")
        return
    if not sqlite:
        op.drop_constraint(fk, "contracts", type_="foreignkey")
    # Offline on SQLite (`orderdesk db downgrade` printing its plan): the columns that go.
    op.drop_column("contracts", "buyer_name")
    op.drop_column("contracts", "business_line_id")
