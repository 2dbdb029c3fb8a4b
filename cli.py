"""The `orderdesk` command. Each area registers its own sub-commands (bot, wecom, jobs, admin)."""

from __future__ import annotations

import logging
import sys

import click

from settings import Settings, SettingsError, load_settings


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
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    ctx.obj = _LazySettings()


class _LazySettings:
    """Settings are read when a command needs them, so `--help` works with a broken .env."""

    _value: Settings | None = None

    def get(self) -> Settings:
        if self._value is None:
            self._value = _settings()
        return self._value


def settings_from(ctx: click.Context) -> Settings:
    obj = ctx.find_object(_LazySettings)
    return obj.get() if obj is not None else _settings()


@main.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
@click.argument("revision", default="head")
@click.pass_context
def db_upgrade(ctx: click.Context, revision: str) -> None:
    """Migrate the database up to REVISION (default: head)."""
    from migrations.run import upgrade

    settings = settings_from(ctx)
    upgrade(settings.database_url, revision)
    click.echo(f"database at {revision}")


@db.command("downgrade")
@click.argument("revision", default="-1")
@click.pass_context
def db_downgrade(ctx: click.Context, revision: str) -> None:
    """Migrate the database down to REVISION (default: one step)."""
    from migrations.run import downgrade

    downgrade(settings_from(ctx).database_url, revision)
    click.echo(f"database at {revision}")


@db.command("current")
@click.pass_context
def db_current(ctx: click.Context) -> None:
    """Print the current revision."""
    from migrations.run import current

    click.echo(current(settings_from(ctx).database_url))


@main.command("check")
@click.pass_context
def check(ctx: click.Context) -> None:
    """Verify the ledger invariants over the whole database; exit 1 on any violation."""
    from runtime import build_runtime
    from services.ledger import check_ledger

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


def _register_areas() -> None:
    from admin_cli import register as admin
    from bot.cli import register as bot
    from jobs.cli import register as jobs
    from wecom.cli import register as wecom

    for register in (admin, bot, jobs, wecom):
        register(main)


_register_areas()


if __name__ == "__main__":
    main()
