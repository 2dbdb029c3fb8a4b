"""The production shape, end to end (`make smoke`, run by .ci/run): build the wheel, install it
with the locked runtime dependencies and no extras in a fresh venv, and run exactly what an
operator (or the Docker image) runs: `orderdesk db upgrade`, `serve` (gunicorn), `worker` and
`scheduler` against PostgreSQL + Redis; one signed callback gets its reply and the worker
delivers the card it queued; the request's log line comes out of gunicorn; /metrics answers;
everything stops cleanly on SIGTERM.

Only the `orderdesk` console script is invoked, from a directory outside the checkout, so the
test proves the wheel alone is enough (no import from the source tree, no data under
site-packages).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

pytestmark = [
    pytest.mark.smoke,
    pytest.mark.timeout(300),
    pytest.mark.skipif(
        os.environ.get("ORDERDESK_TEST_BACKEND") != "postgres",
        reason="needs PostgreSQL + Redis: run `make smoke`",
    ),
]

ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# What the processes must not inherit from the developer's or CI's environment.
SCRUBBED = (
    "DATABASE_URL",
    "REDIS_",
    "WECOM_",
    "PROMETHEUS_",
    "VIRTUAL_ENV",
    "PYTHON",
    "ORDERDESK_",
)


def _sh(*cmd: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the built wheel and the locked runtime dependencies only."""
    work = tmp_path_factory.mktemp("smoke-build")
    _sh(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", work / "dist", ROOT)
    [wheel] = (work / "dist").glob("orderdesk-*.whl")
    env_dir = work / "venv"
    _sh(sys.executable, "-m", "venv", env_dir)
    pip = env_dir / "bin" / "pip"
    _sh(pip, "install", "--quiet", "--require-hashes", "-r", ROOT / "requirements" / "runtime.txt")
    _sh(pip, "install", "--quiet", "--no-deps", wheel)
    return env_dir


@dataclass
class Deployment:
    bin: Path
    home: Path
    env: dict[str, str]
    port: int
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def orderdesk(self, *args: str) -> str:
        return _sh(self.bin / "orderdesk", *args, cwd=self.home, env=self.env)

    def start(self, name: str, *args: str) -> None:
        log = (self.home / f"{name}.log").open("wb")
        self.procs[name] = subprocess.Popen(
            [str(self.bin / "orderdesk"), *args],
            cwd=self.home,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def log(self, name: str) -> str:
        return (self.home / f"{name}.log").read_text(encoding="utf-8", errors="replace")

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as res:
                return res.status, res.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def deployment(venv: Path, tmp_path: Path) -> Iterator[Deployment]:
    run_id = uuid.uuid4().hex[:10]
    schema, namespace = f"smoke_{run_id}", f"odsmoke-{run_id}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    env = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED)}
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        DATABASE_URL=f"{PG_URL}?options=-csearch_path%3D{schema}",
        REDIS_URL=REDIS_URL,
        REDIS_NAMESPACE=namespace,
        ORDERDESK_HOME=str(tmp_path),
        WEB_WORKERS="2",
    )
    dep = Deployment(bin=venv / "bin", home=tmp_path, env=env, port=_free_port())
    try:
        yield dep
    finally:
        for proc in dep.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
        _purge(namespace)


def _purge(namespace: str) -> None:
    from redis import Redis

    client = Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=f"{namespace}*", count=1000):
        client.delete(key)
    ours = [q for q in client.smembers("rq:queues") if namespace.encode() in q]
    if ours:
        client.srem("rq:queues", *ours)
    client.close()


def _wait_ready(dep: Deployment, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if dep.get("/readyz")[0] == 200:
                return
        except OSError:
            pass
        assert dep.procs["serve"].poll() is None, dep.log("serve")
        time.sleep(0.3)
    raise AssertionError(f"serve never became ready:\n{dep.log('serve')}")


def test_the_wheel_serves_a_signed_callback_with_worker_and_scheduler(
    deployment: Deployment,
) -> None:
    dep = deployment
    assert "database at head" in dep.orderdesk("db", "upgrade")
    dep.orderdesk("demo")
    dep.start("serve", "serve", "--port", str(dep.port))
    dep.start("worker", "worker")
    dep.start("scheduler", "scheduler")
    _wait_ready(dep)

    # One signed, encrypted callback through gunicorn; the reply is decrypted and printed. The
    # order card goes through the outbox: the worker delivers it (sandbox: recorded as sent).
    url = f"http://127.0.0.1:{dep.port}"
    out = dep.orderdesk("chat", "--as", "zhangsan", "--url", url, "查 SO-2026-0001")
    assert "SO-2026-0001" in out and "outbox (1)" in out, out

    status, metrics = dep.get("/metrics")
    assert status == 200
    # Counted in one gunicorn worker, served by any (multiprocess mode).
    assert re.search(r'orderdesk_callback_seconds_count\{channel="app",command="查"\} 1', metrics)
    delivered = 'orderdesk_outbox_messages{status="sent"} 1.0'
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (
        "orderdesk_scheduler_leader 1.0" in metrics and delivered in metrics
    ):
        time.sleep(0.5)
        metrics = dep.get("/metrics")[1]
    assert "orderdesk_scheduler_leader 1.0" in metrics, dep.log("scheduler")
    assert delivered in metrics, dep.log("worker")
    # Counted by the worker's forked work horse, reported by the web (through Redis).
    assert re.search(r'orderdesk_job_runs_total\{job="[\w.]*deliver_due",outcome="ok"\}', metrics)

    for name in ("scheduler", "worker", "serve"):
        dep.procs[name].send_signal(signal.SIGTERM)
    for name in ("scheduler", "worker", "serve"):
        assert dep.procs[name].wait(30) == 0, dep.log(name)

    # gunicorn configures no root handler: the application's lines must still come out, each
    # with the request id of its request.
    assert re.search(
        r"INFO orderdesk\.bot\.router \[[0-9A-Za-z._-]{6,}\] bot 查 user=zhangsan", dep.log("serve")
    )
    assert "worker on" in dep.log("worker") or "Listening on" in dep.log("worker")
    assert re.search(r"scheduler sched-\w+ stopped", dep.log("scheduler"))
    # Nothing was written under the package: the data paths follow ORDERDESK_HOME.
    site = next((dep.bin.parent / "lib").glob("python3*/site-packages"))
    assert not (site / "instance").exists()
