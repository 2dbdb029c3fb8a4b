"""The root `orderdesk` group and what every command module shares (settings from the context).

Command modules import this module, never each other; orderdesk/cli/__init__.py wires them."""

from __future__ import annotations

import sys

import click

from orderdesk.core.logs import setup_logging, setup_sentry
from orderdesk.money.ledger import check_ledger
from orderdesk.runtime import build_runtime
from orderdesk.settings import Settings, SettingsError, load_settings


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        # One line naming the variable, then stop.
        click.echo(f"配置错误 / settings error: {exc}", err=True)
        sys.exit(2)


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """OrderDesk: orders, approvals, projects and money inside WeCom."""
    setup_logging("text", verbose=verbose)  # until the settings name LOG_FORMAT
    ctx.obj = _LazySettings(verbose, component=ctx.invoked_subcommand or "cli")


class _LazySettings:
    """Settings are read when a command needs them, so `--help` works with a broken .env."""

    def __init__(self, verbose: bool = False, component: str = "cli") -> None:
        self._value: Settings | None = None
        self._verbose = verbose
        self._component = component  # serve, worker, scheduler ... (Sentry's server_name)

    def get(self) -> Settings:
        if self._value is None:
            self._value = _settings()
            # The same logging (and error reporting) for serve, worker, scheduler and the rest.
            setup_logging(self._value.log_format, verbose=self._verbose)
            setup_sentry(self._value.sentry_dsn, self._component)
        return self._value


def settings_from(ctx: click.Context) -> Settings:
    obj = ctx.find_object(_LazySettings)
    return obj.get() if obj is not None else _settings()


@main.command("check")
@click.pass_context
def check(ctx: click.Context) -> None:
    """Verify the ledger invariants over the whole database; exit 1 on any violation."""
    rt = build_runtime(settings_from(ctx))
    try:
        with rt.db.transaction() as session:
            violations = check_ledger(session)
    finally:
        rt.close()
    for v in violations:
        click.echo(v.line())
    if violations:
        click.echo(f"账目检查未通过 / ledger check failed: {len(violations)} 处", err=True)
        sys.exit(1)
    click.echo("账目检查通过 / ledger check passed")
