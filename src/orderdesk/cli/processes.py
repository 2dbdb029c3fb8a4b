"""`orderdesk serve`, `worker` and `scheduler`: the processes."""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import threading
from datetime import datetime
from typing import Any

import click
from werkzeug.serving import run_simple

from orderdesk.app import create_app
from orderdesk.cli.base import settings_from
from orderdesk.jobs.outage import RedisGaveUp
from orderdesk.jobs.scheduler import SchedulerNode
from orderdesk.jobs.worker import run_worker
from orderdesk.metrics import MULTIPROC_ENV
from orderdesk.runtime import build_runtime, install


def register(main: click.Group) -> None:
    main.add_command(serve)
    main.add_command(worker)
    main.add_command(scheduler)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=None, type=int, help="gunicorn workers (with Redis).")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int | None) -> None:
    """Serve the web app. Without REDIS_URL, jobs and the scheduler run in this process."""
    settings = settings_from(ctx)
    if settings.redis_url:
        _serve_gunicorn(host, port, workers or settings.web_workers)
        return
    app = create_app(settings)
    rt = app.extensions["orderdesk"]
    # No Redis: this process is the only scheduler (no lock needed, nobody to compete with).
    node = SchedulerNode(rt)
    node.start()
    signal.signal(signal.SIGTERM, _interrupt)  # stop as cleanly on SIGTERM as on Ctrl-C
    click.echo(f"OrderDesk on http://{host}:{port} (WeCom {settings.wecom_mode}, jobs in-process)")
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        node.stop()
        rt.close()


def _interrupt(*_: Any) -> None:
    raise KeyboardInterrupt


def _serve_gunicorn(host: str, port: int, workers: int) -> None:
    # prometheus-client multiprocess mode: each worker writes its samples to files here and
    # /metrics sums them. A fresh directory per start, or stale counts of dead workers remain.
    os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="orderdesk-metrics-")
    # Through this interpreter: the venv's bin/ is often not on PATH (systemd, cron, full path).
    os.execv(
        sys.executable,
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"{host}:{port}",
            "--workers",
            str(workers),
            "--access-logfile",
            "-",
            "--config",
            "python:orderdesk.gunicorn_conf",
            "orderdesk.wsgi:app",
        ],
    )


@click.command()
@click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
@click.pass_context
def worker(ctx: click.Context, burst: bool) -> None:
    """Run the job queues high (replies), default, low (digests)."""
    settings = settings_from(ctx)
    if not settings.redis_url:
        click.echo("未配置 REDIS_URL:任务在 `orderdesk serve` 进程内运行,无需单独的 worker。")
        return
    rt = install(build_runtime(settings))
    try:
        run_worker(rt, burst=burst)
    except RedisGaveUp as exc:
        raise _gave_up(exc) from exc
    finally:
        rt.close()


def _gave_up(exc: Exception) -> click.ClickException:
    """Exit status 1 so the supervisor restarts the process (and an operator sees why)."""
    return click.ClickException(f"Redis 长时间不可用,进程退出等待重启:{exc}")


@click.command()
@click.option("--once", "once", metavar="JOB", default=None, help="Run one job now and exit.")
@click.option("--list", "show", is_flag=True, help="Print every job with its next run time.")
@click.pass_context
def scheduler(ctx: click.Context, once: str | None, show: bool) -> None:
    """The scheduler: enqueues jobs on time; only one of several instances fires."""
    settings = settings_from(ctx)
    rt = install(build_runtime(settings))
    node = SchedulerNode(rt)
    try:
        if show:
            _print_listing(node)
        elif once:
            _run_once(node, once)
        elif not settings.redis_url:
            # Without Redis there is no lock: a second scheduler next to `serve` would double-fire.
            raise click.ClickException(
                "未配置 REDIS_URL:调度器已在 `orderdesk serve` 进程内运行,不能再单独启动"
            )
        else:
            _run_forever(node)
    finally:
        rt.close()


def _print_listing(node: Any) -> None:
    tz = node.rt.settings.tz
    for spec, nxt in node.listing():
        when = nxt.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z") if nxt else "-"
        missing = "" if spec.resolve() else "  (未实现)"
        click.echo(f"{spec.name:<32} {when:<26} {spec.queue:<8} {spec.description}{missing}")


def _run_once(node: Any, name: str) -> None:
    spec = node.specs.get(name)
    if spec is None:
        names = ", ".join(node.specs)
        raise click.UsageError(f"未知任务 {name};可用:{names}")
    func = spec.resolve()
    if func is None:
        raise click.ClickException(f"任务 {name} 的实现 {spec.target} 不存在")
    result = func()
    click.echo(f"{name}: {result}")


def _run_forever(node: Any) -> None:
    stopped = threading.Event()

    def _stop(*_: Any) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    node.start()
    click.echo(f"scheduler {node.ident} started at {datetime.now():%H:%M:%S}")
    try:
        while not stopped.wait(1.0) and not node.gave_up.is_set():
            pass
    finally:
        node.stop()
        click.echo(f"scheduler {node.ident} stopped")
    if node.gave_up.is_set():
        raise _gave_up(RedisGaveUp(f"scheduler {node.ident}"))
