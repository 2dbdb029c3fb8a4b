"""invoice fields: kind, amount excluding tax, tax amount, buyer, red-letter link; contracts'
invoicing policy (先票后款 / 先款后票) and buyer tax id

Revision ID: 20261129_invoice_fields
Revises: 20261129_credit_applications
Create Date: 2026-11-29 19:25:00

Existing invoices get their split computed here with the same rule as money.invoices.tax_split
(tax = round_half_up(amount * rate / (1 + rate), 2)), in Python, so both databases agree to the
cent. The split stays nullable: SQLite cannot make an existing column NOT NULL without a rebuild.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext

import sqlalchemy as sa
from alembic import context, op

from orderdesk.migrations import types as mtypes

revision = "20261129_invoice_fields"
down_revision = "20261129_credit_applications"  # chained after this branch's other revision
branch_labels = None
depends_on = None


def _tax(amount: Decimal, rate: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 50
        return (amount * rate / (1 + rate)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def upgrade() -> None:
    op.add_column(
        "invoices",
        sa.Column("kind", sa.String(length=16), server_default="e_general", nullable=False),
    )
    op.add_column("invoices", sa.Column("amount_excl_tax", mtypes.Money(), nullable=True))
    op.add_column("invoices", sa.Column("tax_amount", mtypes.Money(), nullable=True))
    op.add_column("invoices", sa.Column("buyer_name", sa.String(length=200), nullable=True))
    op.add_column("invoices", sa.Column("buyer_tax_id", sa.String(length=32), nullable=True))
    op.add_column("invoices", sa.Column("red_of_id", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_invoices_red_of_id"), "invoices", ["red_of_id"])
    op.add_column(
        "contracts",
        sa.Column(
            "invoicing_policy",
            sa.String(length=16),
            server_default="payment_first",
            nullable=False,
        ),
    )
    op.add_column("contracts", sa.Column("buyer_tax_id", sa.String(length=32), nullable=True))
    if context.is_offline_mode():
        return  # printing the plan: there are no rows to compute
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, amount, tax_rate FROM invoices")).all()
    # Typed parameters: pysqlite cannot bind a Decimal, the Numeric type converts it.
    update = sa.text(
        "UPDATE invoices SET tax_amount = :t, amount_excl_tax = :e WHERE id = :i"
    ).bindparams(sa.bindparam("t", type_=mtypes.Money()), sa.bindparam("e", type_=mtypes.Money()))
    for invoice_id, amount, rate in rows:
        amount, rate = Decimal(str(amount)), Decimal(str(rate))
        tax = _tax(amount, rate)
        bind.execute(update, {"t": tax, "e": amount - tax, "i": invoice_id})


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite >= 3.35), not batch mode: batch needs a live database to
    # reflect the table, and `orderdesk db downgrade` prints the plan offline first.
    op.drop_column("contracts", "buyer_tax_id")
    op.drop_column("contracts", "invoicing_policy")
    op.drop_index(op.f("ix_invoices_red_of_id"), "invoices")
    for column in ("red_of_id", "buyer_tax_id", "buyer_name", "tax_amount", "amount_excl_tax"):
        op.drop_column("invoices", column)
    op.drop_column("invoices", "kind")
