"""Benchmark the app callback against a bare Flask endpoint and a plain wechatpy handler, under
the same gunicorn settings.

    .venv/bin/python bench/callback.py [--seconds 8] [--concurrency 8] [--workers 2] [--write]

What it does (loopback only, bounded in count and time, cleans up after itself):
1. Creates a PostgreSQL schema of its own, migrates it, loads the demo company (staff, 120 orders).
2. Serves `bench.callback:bare_app()` (returns a constant) with gunicorn, drives it at full speed.
3. Serves `bench.callback:callback_app()` (the real /wecom/callback, dedupe in Redis) with the same
   gunicorn settings and drives it with valid encrypted text messages (unique MsgIds) that a small
   handler answers from the database (`查单 SO-2026-00NN`: order, customer, owner), then again at
   half the peak rate for the p99 there. RSS of each web worker is read from /proc.
4. Serves `bench.callback:plain_app()`: the callback the way most public WeCom bots write it
   (wechatpy's own `WeChatCrypto` and `parse_message`, the same one database query, no dedupe, no
   deadline, no outbox) and drives it with the same messages, taking turns with OrderDesk's callback
   for `--rounds` rounds. Target: OrderDesk's callback serves >= 0.8x its requests per second.
5. Prints the figures; `--write` appends them to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing as mp
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PG_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
MAX_REQUESTS = 60_000  # per phase, whatever the duration


# -- the two apps gunicorn serves ----------------------------------------------------------------


def bare_app() -> Any:
    from flask import Flask

    app = Flask("bare")

    @app.post("/bare")
    def bare() -> str:
        return "ok"

    return app


def _order_text(session: Any, number: str) -> str:
    """The one query both handlers make: the order with its customer and owner names."""
    from sqlalchemy import select

    from orderdesk.core.formatting import money
    from orderdesk.models import Customer, Order, Staff

    row = session.execute(
        select(Order.number, Order.title, Order.amount, Order.status, Customer.name, Staff.name)
        .join(Customer, Customer.id == Order.customer_id)
        .join(Staff, Staff.id == Order.owner_id)
        .where(Order.number == number)
    ).first()
    if row is None:
        return f"没有找到 {number}"
    number, title, amount, status, customer, owner = row
    return f"{number} {title}\n客户:{customer}\n金额:{money(amount)}\n状态:{status}\n负责人:{owner}"


def callback_app() -> Any:
    from orderdesk.app import create_app
    from orderdesk.bot.router import Context, Router
    from orderdesk.wecom.replies import Reply, TextReply

    app = create_app()
    router = Router()

    @router.command("查单")
    def lookup(ctx: Context) -> Reply | None:
        return TextReply(_order_text(ctx.session, ctx.args))

    app.extensions["orderdesk.router"] = router
    return app


def plain_app() -> Any:
    """A plain wechatpy callback: decrypt, parse, one query, encrypted passive reply."""
    from flask import Flask, request
    from wechatpy.enterprise import create_reply, parse_message
    from wechatpy.enterprise.crypto import WeChatCrypto

    from orderdesk.db import Database
    from orderdesk.settings import load_settings

    settings = load_settings()
    crypto = WeChatCrypto(settings.wecom_token, settings.wecom_aes_key, settings.wecom_corp_id)
    db = Database(settings.database_url)
    app = Flask("plain")

    @app.post("/wecom/callback")
    def callback() -> Any:
        args = request.args
        xml = crypto.decrypt_message(
            request.get_data(), args["msg_signature"], args["timestamp"], args["nonce"]
        )
        msg = parse_message(xml)
        with db.Session() as session:
            text = _order_text(session, msg.content.partition(" ")[2].strip())
        reply = create_reply(text, msg).render()
        return crypto.encrypt_message(reply, args["nonce"], args["timestamp"])

    return app


# -- environment ---------------------------------------------------------------------------------


@dataclass
class Env:
    schema: str
    db_url: str
    namespace: str
    users: list[str]
    orders: list[str]


def _schema_url(schema: str) -> str:
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


def prepare() -> Env:
    from sqlalchemy import create_engine, select, text

    from orderdesk.db import Database
    from orderdesk.demo.company import load_demo
    from orderdesk.migrations.run import upgrade
    from orderdesk.models import Order, Staff
    from orderdesk.settings import load_settings

    schema = f"bench_cb_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    url = _schema_url(schema)
    upgrade(url)
    db = Database(url)
    tz = load_settings({}).tz
    with db.transaction() as s:
        load_demo(s, seed=1, tz=tz)
    with db.transaction() as s:
        users = list(s.scalars(select(Staff.userid).where(Staff.active.is_(True))))
        orders = list(s.scalars(select(Order.number)))
    db.dispose()
    return Env(schema, url, f"bench-{uuid.uuid4().hex[:8]}", users, orders)


def cleanup(env: Env) -> None:
    from redis import Redis
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{env.schema}" CASCADE'))
    admin.dispose()
    r = Redis.from_url(REDIS_URL)
    for key in r.scan_iter(match=f"{env.namespace}:*", count=1000):
        r.delete(key)
    r.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """gunicorn on 127.0.0.1 with the same settings for both apps."""

    def __init__(
        self, target: str, env: dict[str, str], workers: int, worker_class: str, threads: int
    ) -> None:
        self.port = _free_port()
        cmd = [
            str(Path(sys.executable).parent / "gunicorn"),
            "--chdir",
            str(ROOT),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
            "--worker-class",
            worker_class,
            "--threads",
            str(threads),
            "--keep-alive",
            "30",
            "--log-level",
            "warning",
            target,
        ]
        self.proc = subprocess.Popen(cmd, env={**os.environ, **env})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn for {target} did not start")

    def worker_rss_mb(self) -> list[float]:
        out = []
        for pid in _children(self.proc.pid):
            status = Path(f"/proc/{pid}/status").read_text()
            kb = int(
                next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1]
            )
            out.append(kb / 1024)
        return out

    def cpu_seconds(self) -> float:
        """User + system CPU used so far by the web workers (not the idle arbiter)."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in _children(self.proc.pid):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / tick

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _children(pid: int) -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


# -- load generation -----------------------------------------------------------------------------


@dataclass
class Result:
    count: int
    errors: int
    seconds: float
    latencies_ms: list[float]
    client_cpu: float = 0.0  # CPU seconds the load generator itself used
    server_cpu: float = 0.0  # CPU seconds of the gunicorn workers during the phase

    def cpu_ms(self, seconds: float) -> float:
        return seconds / self.count * 1000 if self.count else float("nan")

    @property
    def rps(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        data = sorted(self.latencies_ms)
        return data[min(len(data) - 1, int(p / 100 * len(data)))]


def _median(results: list[Result]) -> Result:
    """The round with the median requests per second."""
    return sorted(results, key=lambda r: r.rps)[len(results) // 2]


def _make_requests(kind: str, n: int, env: Env | None) -> list[tuple[str, bytes, str]]:
    if kind == "bare":
        return [("/bare", b"<xml>ping</xml>", "text/xml")] * n
    from orderdesk.settings import load_settings
    from orderdesk.wecom import signing

    assert env is not None
    settings = load_settings({})
    reqs = []
    for i in range(n):
        user = env.users[i % len(env.users)]
        number = env.orders[i % len(env.orders)]
        r = signing.app_text(
            settings, user, f"查单 {number}", msg_id=f"{uuid.uuid4().int % 10**18}"
        )
        reqs.append((r.url, r.body, r.content_type))
    return reqs


def _drive(
    port: int, reqs: list[tuple[str, bytes, str]], threads: int, seconds: float, rate: float | None
) -> tuple[int, int, list[float], float, float]:
    """One load process: `threads` keep-alive connections; closed loop, or paced at `rate`/s."""
    lock = threading.Lock()
    lat: list[float] = []
    errors = [0]
    index = [0]
    cpu0 = time.process_time()
    start = time.monotonic()
    stop_at = start + seconds

    def worker(tid: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        n = 0
        while True:
            if rate:
                # Open loop: each thread owns every `threads`-th slot of the schedule.
                due = start + (n * threads + tid) / rate
                n += 1
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            now = time.monotonic()
            if now >= stop_at:
                break
            with lock:
                i = index[0]
                index[0] += 1
            if i >= len(reqs):
                break
            path, body, ctype = reqs[i]
            t0 = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers={"Content-Type": ctype})
                resp = conn.getresponse()
                resp.read()
                ok = resp.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            dt = (time.perf_counter() - t0) * 1000
            with lock:
                if ok:
                    lat.append(dt)
                else:
                    errors[0] += 1
        conn.close()

    pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return len(lat), errors[0], lat, time.monotonic() - start, time.process_time() - cpu0


def _drive_entry(args: tuple[Any, ...]) -> tuple[int, int, list[float], float, float]:
    return _drive(*args)


def run_phase(
    server: Server,
    reqs: list[tuple[str, bytes, str]],
    *,
    concurrency: int,
    seconds: float,
    rate: float | None = None,
    procs: int = 2,
) -> Result:
    chunks = [reqs[i::procs] for i in range(procs)]
    per_rate = rate / procs if rate else None
    with mp.get_context("fork").Pool(procs) as pool:
        cpu0 = server.cpu_seconds()
        parts = pool.map(
            _drive_entry,
            [
                (server.port, chunk, max(1, concurrency // procs), seconds, per_rate)
                for chunk in chunks
            ],
        )
        server_cpu = server.cpu_seconds() - cpu0
    lat = [x for p in parts for x in p[2]]
    return Result(
        count=sum(p[0] for p in parts),
        errors=sum(p[1] for p in parts),
        seconds=max(p[3] for p in parts),
        latencies_ms=lat,
        client_cpu=sum(p[4] for p in parts),
        server_cpu=server_cpu,
    )


# -- main ----------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--worker-class", default="sync", help="gunicorn worker class (`orderdesk serve`: sync)"
    )
    ap.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    ap.add_argument("--rounds", type=int, default=3, help="alternating callback/plain rounds")
    ap.add_argument("--write", action="store_true", help="append the figures to bench/RESULTS.md")
    args = ap.parse_args()
    seconds = min(args.seconds, 30.0)
    args.rounds = max(1, min(args.rounds, 5))

    env = prepare()
    server_env = {
        "DATABASE_URL": env.db_url,
        "REDIS_URL": REDIS_URL,
        "REDIS_NAMESPACE": env.namespace,
        "WECOM_MODE": "sandbox",
        "WECOM_SECRET": "",
    }
    lines: list[str] = []
    try:
        n = min(MAX_REQUESTS, int(seconds * 4000))
        bare = Server(
            "bench.callback:bare_app()", server_env, args.workers, args.worker_class, args.threads
        )
        try:
            run_phase(bare, _make_requests("bare", 500, None), concurrency=4, seconds=2)  # warm
            r_bare = run_phase(
                bare,
                _make_requests("bare", n, None),
                concurrency=args.concurrency,
                seconds=seconds,
            )
            rss_bare = bare.worker_rss_mb()
        finally:
            bare.stop()

        # OrderDesk and the plain wechatpy handler run side by side and take turns, round after
        # round, so a change in the machine's load (other people's test runs) hits both alike.
        cb = Server(
            "bench.callback:callback_app()",
            server_env,
            args.workers,
            args.worker_class,
            args.threads,
        )
        plain = Server(
            "bench.callback:plain_app()", server_env, args.workers, args.worker_class, args.threads
        )
        try:
            for server in (cb, plain):  # warm
                run_phase(server, _make_requests("callback", 500, env), concurrency=4, seconds=2)
            cb_rounds: list[Result] = []
            plain_rounds: list[Result] = []
            for _ in range(args.rounds):
                for server, results in ((cb, cb_rounds), (plain, plain_rounds)):
                    results.append(
                        run_phase(
                            server,
                            _make_requests("callback", n, env),
                            concurrency=args.concurrency,
                            seconds=seconds,
                        )
                    )
            r_cb = _median(cb_rounds)
            r_plain = _median(plain_rounds)
            round_ratios = [c.rps / p.rps for c, p in zip(cb_rounds, plain_rounds, strict=True)]
            half = r_cb.rps / 2
            r_half = run_phase(
                cb,
                _make_requests("callback", int(half * seconds) + 10, env),
                concurrency=args.concurrency,
                seconds=seconds,
                rate=half,
            )
            rss_cb = cb.worker_rss_mb()
        finally:
            cb.stop()
            plain.stop()

        ratio = r_cb.rps / r_bare.rps if r_bare.rps else 0.0
        plain_ratio = r_cb.rps / r_plain.rps if r_plain.rps else 0.0
        cpu_ratio = r_bare.cpu_ms(r_bare.server_cpu) / r_cb.cpu_ms(r_cb.server_cpu)
        lines = [
            f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
            f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
            f"gunicorn {args.workers} {args.worker_class} workers"
            + (f" x {args.threads} threads" if args.worker_class == "gthread" else "")
            + "; load: 2 processes, "
            f"{args.concurrency} keep-alive connections, {seconds:.0f} s per phase, loopback",
            f"- bare Flask endpoint: {r_bare.rps:,.0f} req/s, p50 {r_bare.pct(50):.1f} ms, "
            f"p99 {r_bare.pct(99):.1f} ms ({r_bare.count} ok, {r_bare.errors} errors)",
            "- /wecom/callback (verify, decrypt, parse, Redis dedupe, DB lookup, encrypted reply): "
            f"{r_cb.rps:,.0f} req/s, p50 {r_cb.pct(50):.1f} ms, p99 {r_cb.pct(99):.1f} ms "
            f"({r_cb.count} ok, {r_cb.errors} errors)",
            "- plain wechatpy handler (WeChatCrypto, parse_message, the same query, no dedupe/"
            f"deadline/outbox): {r_plain.rps:,.0f} req/s, p50 {r_plain.pct(50):.1f} ms, "
            f"p99 {r_plain.pct(99):.1f} ms ({r_plain.count} ok, {r_plain.errors} errors); "
            f"CPU per request, web workers {r_plain.cpu_ms(r_plain.server_cpu):.2f} ms",
            f"- ratio callback/plain wechatpy: {plain_ratio:.2f} (target >= 0.8; medians of "
            f"{args.rounds} alternating rounds; per round "
            f"{', '.join(f'{x:.2f}' for x in round_ratios)})",
            f"- ratio callback/bare: {ratio:.2f}",
            # The load generator runs on the same 2 cores: CPU per request, read from /proc for
            # the web workers and from the load processes themselves, shows who paid for what.
            f"- CPU per request, web workers: bare {r_bare.cpu_ms(r_bare.server_cpu):.2f} ms, "
            f"callback {r_cb.cpu_ms(r_cb.server_cpu):.2f} ms (worker-CPU ratio {cpu_ratio:.2f}); "
            f"load generator: bare {r_bare.cpu_ms(r_bare.client_cpu):.2f} ms, "
            f"callback {r_cb.cpu_ms(r_cb.client_cpu):.2f} ms",
            f"- callback at half the peak ({half:,.0f} req/s offered, {r_half.rps:,.0f} served): "
            f"p50 {r_half.pct(50):.1f} ms, p99 {r_half.pct(99):.1f} ms (target < 100 ms)",
            f"- RSS per web worker: callback {', '.join(f'{x:.0f}' for x in rss_cb)} MB; "
            f"bare {', '.join(f'{x:.0f}' for x in rss_bare)} MB (target < 150 MB)",
        ]
    finally:
        cleanup(env)
    print("\n".join(lines))
    if args.write and lines:
        _write_results(lines, args)


def _write_results(lines: list[str], args: argparse.Namespace) -> None:
    """Append this run to bench/RESULTS.md (earlier runs and their notes stay)."""
    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    cmd = " ".join(["`.venv/bin/python bench/callback.py", *sys.argv[1:]]) + "`"
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    block = f"## callback (bench/callback.py), run {when}\n\nCommand: {cmd}\n\n" + "\n".join(lines)
    path.write_text(text.rstrip("\n") + "\n\n" + block + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
