"""Alembic migrations. `migrations.run` drives them programmatically (CLI and tests)."""
