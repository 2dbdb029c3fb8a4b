"""The `orderdesk` command: help, settings errors, migrations, demo loading, and /readyz."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from orderdesk.app import create_app
from orderdesk.cli import main
from orderdesk.models import Order, Staff
from orderdesk.runtime import Runtime, build_runtime
from orderdesk.settings import Settings


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def env(settings: Settings, rt: Runtime) -> dict[str, str]:
    return {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "REDIS_NAMESPACE": settings.redis_namespace,
        "JOBS_SYNC": "true",
    }


def test_help_lists_the_commands() -> None:
    result = run({}, "--help")
    assert result.exit_code == 0
    for command in ("db", "demo", "serve", "staff"):
        assert f"  {command} " in result.output
    staff = run({}, "staff", "--help")
    for sub in ("add", "list", "role", "sync"):
        assert f"  {sub} " in staff.output


def test_help_works_with_broken_settings_and_commands_stop_with_one_line() -> None:
    broken = {"WECOM_AES_KEY": "short"}
    assert run(broken, "--help").exit_code == 0
    result = run(broken, "db", "current")
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert "WECOM_AES_KEY: must be 43 characters" in lines[0]


def test_db_upgrade_current_and_downgrade(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"}
    assert run(env, "db", "current").output.strip() == "(empty)"
    up = run(env, "db", "upgrade")
    assert up.exit_code == 0 and "head" in up.output
    head = run(env, "db", "current").output.strip()
    assert head not in ("", "(empty)")
    assert run(env, "db", "check").exit_code == 0
    # No revision: refused (it used to mean "one step", i.e. drop every table).
    assert run(env, "db", "downgrade").exit_code == 2
    # Without --yes: prints what would go and changes nothing.
    plan = run(env, "db", "downgrade", "base")
    assert plan.exit_code == 1 and "--yes" in plan.output
    assert "0001: initial schema" in plan.output and "TABLE orders" in plan.output
    assert run(env, "db", "current").output.strip() == head
    assert run(env, "db", "downgrade", "nosuchrev", "--yes").exit_code == 2
    done = run(env, "db", "downgrade", "base", "--yes")
    assert done.exit_code == 0 and "TABLE orders" in done.output
    assert run(env, "db", "current").output.strip() == "(empty)"
    assert "nothing to undo" in run(env, "db", "downgrade", "base", "--yes").output


def test_db_check_names_a_difference_between_models_and_database(tmp_path: Path) -> None:
    db_file = tmp_path / "drifted.db"
    env = {"DATABASE_URL": f"sqlite:///{db_file}"}
    assert run(env, "db", "upgrade").exit_code == 0
    with sqlite3.connect(db_file) as conn:  # what a hand-made change (or a lost revision) does
        conn.execute("DROP INDEX ix_outbox_status_next")
    result = run(env, "db", "check")
    assert result.exit_code == 1
    assert "models and migrations differ" in result.output
    assert "ix_outbox_status_next" in result.output


def test_demo_command_refuses_skips_and_forces(env: dict[str, str], rt: Runtime) -> None:
    with rt.db.transaction() as s:
        s.add(Staff(userid="boss", name="老板"))

    refused = run(env, "demo")
    assert refused.exit_code == 1 and "--force" in refused.output

    skipped = run(env, "demo", "--if-empty")
    assert skipped.exit_code == 0 and "skipped" in skipped.output
    with rt.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Order)) == 0

    forced = run(env, "demo", "--force", "--seed", "2")
    assert forced.exit_code == 0, forced.output
    assert "orders: 120" in forced.output
    with rt.db.transaction() as s:
        assert s.scalar(select(Staff).where(Staff.userid == "boss")) is None
        first = s.scalar(select(Order).where(Order.number == "SO-2026-0001"))
        assert first is not None and first.owner.userid == "zhangsan"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_readyz_names_redis_when_it_is_down(settings: Settings) -> None:
    broken = build_runtime(
        settings.with_overrides(redis_url=f"redis://127.0.0.1:{_closed_port()}/0")
    )
    try:
        resp = create_app(rt=broken).test_client().get("/readyz")
        assert resp.status_code == 503
        body = resp.get_json()
        assert body["status"] == "unavailable"
        assert list(body["failing"]) == ["redis"]  # the database is fine
        assert create_app(rt=broken).test_client().get("/healthz").status_code == 200
    finally:
        broken.close()
