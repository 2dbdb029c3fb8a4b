"""`orderdesk serve`, `worker` and `scheduler`: the processes."""

from __future__ import annotations

import click

from cli import settings_from


def register(main: click.Group) -> None:
    main.add_command(serve)


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
    from werkzeug.serving import run_simple

    from app import create_app

    app = create_app(settings)
    click.echo(f"OrderDesk on http://{host}:{port} (WeCom {settings.wecom_mode}, jobs in-process)")
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        app.extensions["orderdesk"].close()


def _serve_gunicorn(host: str, port: int, workers: int) -> None:
    import os

    os.execvp(
        "gunicorn",
        [
            "gunicorn",
            "--bind",
            f"{host}:{port}",
            "--workers",
            str(workers),
            "--access-logfile",
            "-",
            "wsgi:app",
        ],
    )
