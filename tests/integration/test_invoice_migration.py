"""20261129_invoice_fields computes the tax split of invoices issued before it (SQLite file, the
CLI; PostgreSQL binds Decimals natively, SQLite needs the typed parameters this test guards)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.integration.test_cli import run

ROW = (
    "INSERT INTO invoices (id, number, installment_id, amount, tax_rate, issue_date, status,"
    " created_at, updated_at) VALUES (?, ?, 1, ?, ?, '2026-01-01', 'issued', '2026-01-01',"
    " '2026-01-01')"
)


def test_upgrade_splits_existing_invoices(tmp_path: Path) -> None:
    db_file = tmp_path / "old.db"
    env = {"DATABASE_URL": f"sqlite:///{db_file}"}
    assert run(env, "db", "upgrade", "20261129_credit_applications").exit_code == 0
    with sqlite3.connect(db_file) as conn:  # foreign keys off: only the invoice rows matter
        conn.execute(ROW, (1, "A", "1000.00", "0.06"))
        conn.execute(ROW, (2, "B", "10000.00", "0.13"))
    up = run(env, "db", "upgrade")
    assert up.exit_code == 0, up.output
    with sqlite3.connect(db_file) as conn:
        rows = conn.execute(
            "SELECT number, CAST(amount_excl_tax AS TEXT), CAST(tax_amount AS TEXT), kind"
            " FROM invoices ORDER BY id"
        ).fetchall()
    assert rows == [("A", "943.4", "56.6", "e_general"), ("B", "8849.56", "1150.44", "e_general")]
