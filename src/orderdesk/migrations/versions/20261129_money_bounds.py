"""money bounds: paid and invoiced never exceed an installment's amount

Revision ID: 20261129_money_bounds
Revises: 0001
Create Date: 2026-11-29 18:30:00

PostgreSQL gets CHECK constraints. SQLite cannot add a CHECK to an existing table without
rebuilding it, and rebuilding `installments` (referenced by invoices and allocations) under
`foreign_keys=ON` fails on any database holding money; triggers hold the same rule there, with
the constraint's name in the error. Allocations (> 0) and receipt credit (>= 0) are already
constrained by 0001.
"""

from __future__ import annotations

from alembic import op

revision = "20261129_money_bounds"
down_revision = "0001"
branch_labels = None
depends_on = None

RULES = {
    "ck_installments_paid_within_amount": "paid_amount <= amount",
    "ck_installments_invoiced_within_amount": "invoiced_amount <= amount",
}


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    for name, rule in RULES.items():
        if not _sqlite():
            op.create_check_constraint(op.f(name), "installments", rule)
            continue
        for event in ("INSERT", "UPDATE"):
            op.execute(
                f"CREATE TRIGGER {name}_{event.lower()} BEFORE {event} ON installments "
                f"WHEN NOT (NEW.{rule.replace(' <= ', ' <= NEW.')}) "
                f"BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: {name}'); END"
            )


def downgrade() -> None:
    for name in RULES:
        if not _sqlite():
            op.drop_constraint(op.f(name), "installments", type_="check")
            continue
        for event in ("insert", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}_{event}")
