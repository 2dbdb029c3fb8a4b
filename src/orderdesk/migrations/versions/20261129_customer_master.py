"""customer master data: credit code, pinyin initials, archiving; contact phone index

Revision ID: 20261129_customer_master
Revises: 20261129_money_bounds
Create Date: 2026-11-29 19:20:00

The credit code is unique through an index (SQLite cannot add a UNIQUE column in place);
NULLs do not collide on either database, so customers without a code stay allowed. Existing
customers get their pinyin initials here; the model keeps them in step from then on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from orderdesk.core.pinyin import initials_of
from orderdesk.migrations import types as mtypes

revision = "20261129_customer_master"
down_revision = "20261129_invoice_fields"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("customers", sa.Column("credit_code", sa.String(18), nullable=True))
    op.add_column("customers", sa.Column("name_initials", sa.String(128), nullable=True))
    op.add_column("customers", sa.Column("archived_at", mtypes.UTCDateTime(), nullable=True))
    op.create_index("ix_customers_credit_code", "customers", ["credit_code"], unique=True)
    op.create_index("ix_contacts_phone", "contacts", ["phone"])
    _backfill_initials()


def _backfill_initials() -> None:
    customers = sa.table(
        "customers", sa.column("id", sa.Integer), sa.column("name"), sa.column("name_initials")
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(customers.c.id, customers.c.name)).all()
    for row_id, name in rows:
        bind.execute(
            customers.update()
            .where(customers.c.id == row_id)
            .values(name_initials=initials_of(name))
        )


def downgrade() -> None:
    op.drop_index("ix_contacts_phone", table_name="contacts")
    op.drop_index("ix_customers_credit_code", table_name="customers")
    # Plain DROP COLUMN (SQLite >= 3.35 has it): batch mode would need to reflect the table,
    # which `orderdesk db downgrade` cannot do when it previews the SQL offline.
    for column in ("archived_at", "name_initials", "credit_code"):
        op.drop_column("customers", column)
