"""The production shape for drills: `orderdesk serve`, `worker` and `scheduler` as separate
processes started the way the README tells an operator (the `orderdesk` command, settings in the
environment), a private `redis-server`, PostgreSQL (a fresh database on the machine's server, or
a private `initdb` cluster), and the fake WeCom server, driven by real signed callbacks.

Every drill's database is the previous release's demo database (tests/drills/fixtures, made by
make_fixture.py) brought up to date with `orderdesk db upgrade`, so each drill is also an
upgrade-in-place drill.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import requests
from redis import Redis
from sqlalchemy import create_engine, text

from orderdesk.settings import load_settings
from orderdesk.wecom import signing
from tests.fakes.live import LIVE_AES_KEY
from tests.fakes.wecom_server import FakeWeCom

ROOT = Path(__file__).resolve().parents[2]
ORDERDESK = str(Path(sys.executable).parent / "orderdesk")
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "release-0001.sql.gz"
PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
# Private service ports (never the machine's own Redis or PostgreSQL).
REDIS_PORT = int(os.environ.get("DRILL_REDIS_PORT", "6391"))
PG_PORT = int(os.environ.get("DRILL_PG_PORT", "5441"))
RESULTS = ROOT / "bench" / "drill-results.jsonl"
TZ = ZoneInfo("Asia/Shanghai")


def wait_until(check: Callable[[], Any], timeout: float, what: str, every: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as exc:  # the thing we wait for may be down for a while
            last_error = exc
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} ({last_error})")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------- services


class RedisServer:
    """A private redis-server (no persistence: a restart is a Redis that lost everything)."""

    def __init__(self, port: int = REDIS_PORT) -> None:
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        args = ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        client = Redis(port=self.port)
        wait_until(client.ping, 10, f"redis-server on {self.port}", every=0.05)
        client.close()
        return self

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


class PgCluster:
    """A private PostgreSQL cluster made with initdb in a temp dir (runs as user postgres)."""

    def __init__(self, port: int = PG_PORT) -> None:
        self.port = port
        self.dir = Path(tempfile.mkdtemp(prefix="orderdesk-drill-pg-"))
        self.data = self.dir / "data"

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *args: str) -> None:
        cmd = list(args)
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def init(self) -> PgCluster:
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._as_postgres(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust"
        )
        return self

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", opts, "-l", str(self.dir / "log"),
            "-w", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        with suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}", query=""))


@contextmanager
def fresh_database(server_url: str = PG_URL) -> Iterator[str]:
    """A new database on `server_url`'s server holding the previous release's demo data."""
    name = f"drill_{uuid.uuid4().hex[:10]}"
    admin = create_engine(
        _with_db(server_url, "postgres"), isolation_level="AUTOCOMMIT", pool_pre_ping=True
    )  # pre-ping: a drill may have restarted the server meanwhile
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = _with_db(server_url, name)
    try:
        load_fixture(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def load_fixture(url: str) -> None:
    engine = create_engine(url)
    sql = gzip.decompress(FIXTURE.read_bytes()).decode("utf-8")
    with engine.begin() as conn:
        conn.exec_driver_sql(sql)
    engine.dispose()


# --------------------------------------------------------------------------- processes


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill_tree(self) -> None:
        """SIGKILL the process and its children (RQ's work horse runs in a group of its own)."""
        for pid in [*_children(self.popen.pid), self.popen.pid]:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.popen.wait(10)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int | None:
        if self.alive():
            with suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)  # gunicorn: the master and its workers
            try:
                return self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                return self.popen.wait(10)
        return self.popen.returncode


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                child = int(stat.parent.name)
                found += [*_children(child), child]
    return found


def business_morning_offset(at: str = "09:16:30") -> float:
    """Seconds from now to the next working day's `at` (company time): ORDERDESK_CLOCK_OFFSET."""
    now = datetime.now(TZ)
    hh, mm, ss = (int(x) for x in at.split(":"))
    day = now.date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    target = datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=TZ)
    return (target - now).total_seconds()


@dataclass
class Stack:
    """One OrderDesk installation under drill: its processes, Redis, database, fake WeCom."""

    name: str
    database_url: str
    redis: RedisServer
    fake: FakeWeCom
    workdir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    procs: list[Proc] = field(default_factory=list)
    unsent: list[Any] = field(default_factory=list)
    web_port: int = field(default_factory=free_port)

    # -- settings shared by every process (what an operator puts in the unit's Environment=)
    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("WECOM_", "ORDERDESK_"))}
        env.update(
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis.url,
            REDIS_NAMESPACE=f"drill-{self.name}",
            SECRET_KEY="drill-" + "x" * 32,
            STORAGE_DIR=str(self.workdir / "storage"),
            WECOM_MODE="live",
            WECOM_API_BASE=self.fake.base,
            WECOM_CORP_ID="wwdrill",
            WECOM_AGENT_ID="1000002",
            WECOM_SECRET="drill-secret",
            WECOM_TOKEN="drilltoken",
            WECOM_AES_KEY=LIVE_AES_KEY,
            WEB_WORKERS="2",
            PYTHONUNBUFFERED="1",
            ORDERDESK_CLOCK_OFFSET_FILE=str(self.clock_file),
        )
        env.update(self.extra_env)
        env.update(extra)
        return env

    @property
    def clock_file(self) -> Path:
        return self.workdir / "clock-offset"

    def set_clock(self, ahead_seconds: float) -> None:
        """Every process's clock runs this far ahead of the wall clock (see core.clock)."""
        tmp = self.workdir / "clock-offset.tmp"
        tmp.write_text(str(ahead_seconds))
        tmp.replace(self.clock_file)  # atomic: a process never reads half a number

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass at once for every process (leases expire, runs fall due)."""
        self.set_clock(float(self.clock_file.read_text()) + seconds)

    @property
    def settings(self) -> Any:
        return load_settings(self.env(), dotenv=False)

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """A one-off `orderdesk ...` command (db upgrade, demo)."""
        return subprocess.run(
            [ORDERDESK, *args], cwd=self.workdir, env=self.env(), capture_output=True, text=True,
            timeout=timeout, check=False,
        )  # fmt: skip

    def start(self, name: str, *args: str, **env: str) -> Proc:
        log = self.workdir / f"{name}.log"
        out = log.open("ab")
        popen = subprocess.Popen(
            [ORDERDESK, *args], cwd=self.workdir, env=self.env(**env), stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        out.close()
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def serve(self) -> Proc:
        proc = self.start("serve", "serve", "--host", "127.0.0.1", "--port", str(self.web_port))
        wait_until(lambda: self.get("/healthz").status_code == 200, 60, "serve to answer")
        return proc

    def worker(self, name: str = "worker") -> Proc:
        return self.start(name, "worker")

    def scheduler(self, name: str = "scheduler") -> Proc:
        return self.start(name, "scheduler")

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()

    # -- talking to it
    def get(self, path: str) -> requests.Response:
        return requests.get(f"http://127.0.0.1:{self.web_port}{path}", timeout=5)

    def callback(self, req: signing.SignedRequest, timeout: float = 5.5) -> tuple[int, str | None]:
        """POST one signed callback as WeCom does (it gives up after 5 s); the decrypted reply."""
        try:
            resp = requests.post(
                f"http://127.0.0.1:{self.web_port}{req.url}", data=req.body,
                headers={"Content-Type": req.content_type}, timeout=timeout,
            )  # fmt: skip
        except requests.RequestException:
            return 0, None  # no answer: WeCom retries
        if resp.status_code != 200:
            return resp.status_code, None
        return 200, signing.open_reply(self.settings, req.channel, resp.text)

    def text(self, user: str, content: str, msg_id: str | None = None) -> signing.SignedRequest:
        plaintext = signing.app_text_xml(self.settings, user, content, msg_id=msg_id)
        return signing.seal(self.settings, "app", plaintext)

    # -- looking at the database
    def query(self, sql: str, **params: Any) -> list[Any]:
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as conn:
                return list(conn.execute(text(sql), params))
        finally:
            engine.dispose()

    def scalar(self, sql: str, **params: Any) -> Any:
        rows = self.query(sql, **params)
        return rows[0][0] if rows else None


@contextmanager
def stack(name: str, *, database_url: str | None = None, **extra_env: str) -> Iterator[Stack]:
    """A private Redis, a fake WeCom and an upgraded previous-release database; on exit every
    process is stopped (their logs are printed when the drill failed: see conftest)."""
    workdir = Path(tempfile.mkdtemp(prefix=f"orderdesk-drill-{name}-"))
    redis = RedisServer().start()
    fake = FakeWeCom().start()
    try:
        with _database(database_url) as url:
            st = Stack(name, url, redis, fake, workdir, extra_env=dict(extra_env))
            st.set_clock(0)
            upgraded = st.run("db", "upgrade")
            assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
            try:
                yield st
            finally:
                st.stop_all()
                _keep_logs(st)
    finally:
        fake.stop()
        redis.kill()
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def _database(url: str | None) -> Iterator[str]:
    if url is not None:
        yield url
        return
    with fresh_database() as fresh:
        yield fresh


def _keep_logs(st: Stack) -> None:
    """Copy the processes' logs next to the results, for a failed drill's post-mortem."""
    target = ROOT / "bench" / "drill-logs" / st.name
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True, exist_ok=True)
    for proc in st.procs:
        if proc.log.exists():
            shutil.copy(proc.log, target / proc.log.name)


# --------------------------------------------------------------------------- figures


@dataclass
class Figures:
    """What users would notice: messages caused, delivered, duplicated, lost; recovery time."""

    drill: str
    caused: int = 0
    delivered: int = 0
    duplicated: int = 0
    lost: int = 0
    recover_seconds: float = 0.0
    note: str = ""

    def record(self) -> None:
        line = json.dumps(self.__dict__, ensure_ascii=False)
        print(f"DRILL {line}")
        RESULTS.parent.mkdir(exist_ok=True)
        with RESULTS.open("a", encoding="utf-8") as out:
            out.write(line + "\n")


def duplicates(items: list[dict[str, Any]]) -> int:
    seen = {json.dumps(d, sort_keys=True, ensure_ascii=False) for d in items}
    return len(items) - len(seen)


def outbox(st: Stack, after_id: int = 0) -> list[Any]:
    return st.query(
        "SELECT id, idempotency_key, channel, status, attempts, next_attempt_at, last_error"
        " FROM outbox_messages"
        " WHERE id > :after ORDER BY id",
        after=after_id,
    )


def max_outbox_id(st: Stack) -> int:
    return int(st.scalar("SELECT coalesce(max(id), 0) FROM outbox_messages") or 0)


def all_sent(st: Stack, after_id: int, at_least: int = 1) -> list[Any] | None:
    rows = outbox(st, after_id)
    if len(rows) >= at_least and all(r.status == "sent" for r in rows):
        return rows
    st.unsent = [r for r in rows if r.status != "sent"]  # shown when the wait times out
    return None


def figures_for(
    drill: str, st: Stack, after_id: int, *, recover_seconds: float = 0.0, note: str = ""
) -> Figures:
    """Caused = outbox rows the drill caused; delivered = those sent; duplicated = identical
    messages WeCom delivered twice; lost = rows never sent."""
    rows = outbox(st, after_id)
    sent = [r for r in rows if r.status == "sent"]
    return Figures(
        drill,
        caused=len(rows),
        delivered=len(sent),
        duplicated=duplicates(st.fake.delivered),
        lost=len(rows) - len(sent),
        recover_seconds=round(recover_seconds, 1),
        note=note,
    )


def progress(st: Stack, tag: str, user: str = "zhangsan", order: str = "SO-2026-0001") -> str:
    """A real signed `进度` callback: a timeline entry (the effect) and pushes (the messages)."""
    status, reply = st.callback(st.text(user, f"进度 {order} {tag}"))
    assert status == 200 and reply is not None and "已记录" in reply, (status, reply)
    return reply


def effects(st: Stack, tag: str) -> int:
    """How many timeline entries a tag produced (one per callback, however often retried)."""
    return int(st.scalar("SELECT count(*) FROM activities WHERE body = :t", t=tag) or 0)


def delivered_once(st: Stack, after_id: int, tag: str = "") -> tuple[int, int, int]:
    """(rows carrying `tag`, rows delivered, deliveries beyond one per row). The same payload
    sent to n recipients (rows) must reach WeCom exactly n times."""
    groups: dict[str, int] = {}
    for payload in outbox_payloads(st, after_id):
        if tag in payload:
            groups[payload] = groups.get(payload, 0) + 1
    delivered, extra = 0, 0
    for payload, rows in groups.items():
        body = json.loads(payload)
        hits = sum(all(d.get(k) == v for k, v in body.items()) for d in st.fake.delivered)
        delivered += min(hits, rows)
        extra += max(0, hits - rows)
    return sum(groups.values()), delivered, extra


def outbox_payloads(st: Stack, after_id: int) -> list[str]:
    rows = st.query("SELECT payload FROM outbox_messages WHERE id > :a", a=after_id)
    return [json.dumps(r.payload, ensure_ascii=False, sort_keys=True) for r in rows]


def runs_fired(st: Stack) -> dict[str, int]:
    """Scheduled runs the workers executed, by RQ job id (from the workers' logs)."""
    counts: dict[str, int] = {}
    for proc in st.procs:
        if proc.name.startswith("worker"):
            for job_id in re.findall(r"Job OK \((sched-[A-Za-z0-9_-]+)\)", proc.output()):
                counts[job_id] = counts.get(job_id, 0) + 1
    return counts
