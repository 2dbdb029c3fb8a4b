"""Test fixtures. The suite runs twice (see Makefile): on SQLite without Redis, and on
PostgreSQL + Redis (`ORDERDESK_TEST_BACKEND=postgres`). Each run gets its own PostgreSQL schema
and Redis key namespace and removes them at the end, so concurrent runs never collide."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, insert, text
from sqlalchemy.orm import Session

from orderdesk import models
from orderdesk.app import create_app
from orderdesk.core import clock
from orderdesk.migrations.run import upgrade
from orderdesk.money import ar_balances
from orderdesk.runtime import Runtime, build_runtime, install
from orderdesk.settings import Settings, load_settings

if TYPE_CHECKING:
    from redis import Redis

BACKEND = os.environ.get("ORDERDESK_TEST_BACKEND", "sqlite")
PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() == "true"
RUN_ID = uuid.uuid4().hex[:10]


def _unreachable(what: str, exc: Exception) -> None:
    message = f"{what} unreachable for the postgres test run: {exc}"
    if IN_CI:
        pytest.exit(message, returncode=1)
    pytest.exit(f"skipping the postgres run: {message}", returncode=0)


def _pg_schema_url(schema: str) -> str:
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def backend() -> str:
    return BACKEND


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if BACKEND == "sqlite":
        path = Path(tmp_path_factory.mktemp("db")) / "orderdesk.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        yield url
        return
    schema = f"t_{RUN_ID}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        _unreachable("PostgreSQL", exc)
    url = _pg_schema_url(schema)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The Redis URL of the postgres run ("" on the SQLite run: no Redis, jobs in-process)."""
    if BACKEND == "sqlite":
        yield ""
        return
    from redis import Redis

    client = Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except Exception as exc:
        _unreachable("Redis", exc)
    yield REDIS_URL
    _purge_redis(client)
    client.close()


@pytest.fixture
def settings(database_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return load_settings(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "REDIS_NAMESPACE": f"odtest-{RUN_ID}",
            "STORAGE_DIR": str(tmp_path / "storage"),
            "JOBS_SYNC": "true",
            "WECOM_API_BASE": "http://wecom.test/cgi-bin",
        }
    )


def _truncate_all(rt: Runtime) -> None:
    tables = list(reversed(models.Base.metadata.sorted_tables))
    # DELETE in reverse dependency order, not TRUNCATE: on near-empty tables it is ~20x faster
    # on PostgreSQL (TRUNCATE pays a fixed file-level cost per table). Ids restart at 1 on both
    # backends (SQLite reuses them once a table is empty; PostgreSQL's sequences are reset).
    with rt.db.engine.begin() as conn:
        if rt.db.dialect == "sqlite":
            conn.execute(text("PRAGMA foreign_keys=OFF"))
        for t in tables:
            conn.execute(t.delete())
        if rt.db.dialect == "sqlite":
            conn.execute(text("PRAGMA foreign_keys=ON"))
        else:
            resets = ", ".join(
                f"setval(pg_get_serial_sequence('\"{t.name}\"', 'id'), 1, false)"
                for t in tables
                if "id" in t.c and t.c.id.primary_key and t.c.id.autoincrement is not False
            )
            conn.execute(text(f"SELECT {resets}"))


# Every test runs with the AR balances kept (models.ar_balance) as of this day, and ends by
# comparing them with the installments: any write path that forgets them fails its own test.
AR_BALANCE_DAY = date(2026, 3, 1)


def _keep_ar_balances(rt: Runtime) -> None:
    with rt.db.engine.begin() as conn:
        conn.execute(insert(models.ArBalanceState).values(id=1, day=AR_BALANCE_DAY))


def _check_ar_balances(rt: Runtime) -> None:
    with rt.db.transaction() as session:
        problems = ar_balances.verify(session)
    assert not problems, "AR balances drifted from the installments:\n" + "\n".join(problems)


def _purge_redis(client: Redis) -> None:
    """Remove everything this run put in Redis: namespaced keys, our queues in RQ's queue set,
    and RQ job hashes (named by job id only, so found by their `origin` queue)."""
    marker = RUN_ID.encode()
    for key in client.scan_iter(match=f"*{RUN_ID}*", count=1000):
        client.delete(key)
    ours = [q for q in client.smembers("rq:queues") if marker in q]
    if ours:
        client.srem("rq:queues", *ours)
    jobs = [k for k in client.scan_iter(match="rq:job:*", count=1000) if k.count(b":") == 2]
    if jobs:
        pipe = client.pipeline()
        for key in jobs:
            pipe.hget(key, "origin")
        stale = [
            k for k, origin in zip(jobs, pipe.execute(), strict=True) if origin and marker in origin
        ]
        for key in stale:
            client.delete(key, key + b":dependents", key + b":dependencies")


def _flush_namespace(rt: Runtime) -> None:
    if rt.redis is not None:
        _purge_redis(rt.redis)


@pytest.fixture
def rt(settings: Settings) -> Iterator[Runtime]:
    runtime = build_runtime(settings)
    install(runtime)
    _truncate_all(runtime)
    _flush_namespace(runtime)
    _keep_ar_balances(runtime)
    yield runtime
    _check_ar_balances(runtime)
    runtime.close()
    assert clock.is_wall_clock(), "this test left the clock frozen (see clock.frozen)"


@pytest.fixture
def app(rt: Runtime) -> Flask:
    flask_app = create_app(rt=rt)
    flask_app.config.update(TESTING=True)
    return flask_app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def session(rt: Runtime) -> Iterator[Session]:
    """A session for arranging and inspecting data; the test commits what it arranges."""
    s = rt.db.Session()
    yield s
    s.rollback()
    s.close()


def pytest_report_header(config: Any) -> str:
    return f"orderdesk backend: {BACKEND} (run {RUN_ID})"


KINDS = ("unit", "integration", "e2e")


def pytest_itemcollected(item: pytest.Item) -> None:
    """Mark each test by its folder (tests/unit, tests/integration, tests/e2e) so `-m unit`
    selects it; a unit test that reaches for the database is a mistake, reported at collection."""
    try:
        kind = item.path.resolve().relative_to(Path(__file__).resolve().parent).parts[0]
    except ValueError:
        return
    if kind not in KINDS:
        return
    item.add_marker(getattr(pytest.mark, kind))
    if kind == "unit" and "database_url" in getattr(item, "fixturenames", ()):
        raise pytest.UsageError(f"{item.nodeid}: a unit test uses the database")
