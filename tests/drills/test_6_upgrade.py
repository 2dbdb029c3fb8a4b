"""Drill 6: upgrade in place. The previous release's database (migration 0001, the released
baseline, with its demo data: tests/drills/fixtures, made by make_fixture.py) is upgraded with
`orderdesk db upgrade`, and the new version serves it. Every other drill runs on such an upgraded
database too (see harness.stack), so "every drill still passes after the upgrade" is checked by
the whole set."""

from __future__ import annotations

import time

from alembic.script import ScriptDirectory

from orderdesk.migrations.run import alembic_config, current
from tests.drills.harness import (
    Figures,
    all_sent,
    fresh_database,
    max_outbox_id,
    progress,
    stack,
    wait_until,
)


def test_previous_release_database_upgrades_and_serves() -> None:
    with fresh_database() as url:
        assert current(url) == "0001", "the fixture is the released baseline"
        orders = _count(url, "orders")
        began = time.monotonic()
        with stack("upgrade", database_url=url) as st:  # runs `orderdesk db upgrade`
            head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
            assert current(url) == head
            assert st.run("db", "upgrade").returncode == 0  # a second upgrade is a no-op
            assert _count(url, "orders") == orders == 120
            st.serve()
            st.worker()
            st.scheduler()
            start = max_outbox_id(st)
            progress(st, "drill6-after-upgrade")  # an order of the old release, a new effect
            rows = wait_until(lambda: all_sent(st, start), 60, "a message after the upgrade")
            upgraded = time.monotonic() - began
            assert st.get("/readyz").status_code == 200
            Figures(
                "6 upgrade in place (0001 -> head) then serve",
                caused=len(rows),
                delivered=len(rows),
                recover_seconds=round(upgraded, 1),
                note=f"{orders} orders kept; head {head}",
            ).record()


def _count(url: str, table: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() or 0)
    finally:
        engine.dispose()
