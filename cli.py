"""The `orderdesk` command. Each area registers its own sub-commands (bot, wecom, jobs, admin)."""

from __future__ import annotations

import sys

import click

from logs import setup_logging, setup_sentry
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
@click.argument("revision")
@click.option("--yes", is_flag=True, help="Really do it (without: only print what it drops).")
@click.pass_context
def db_downgrade(ctx: click.Context, revision: str, yes: bool) -> None:
    """Migrate the database down to REVISION (a revision id, or `base` for nothing at all).

    Prints the revisions it undoes and the tables, columns and indexes it drops; changes
    nothing without --yes."""
    from alembic.util import CommandError

    from migrations.run import downgrade, downgrade_plan

    url = settings_from(ctx).database_url
    try:
        plan = downgrade_plan(url, revision)
    except CommandError as exc:
        raise click.UsageError(f"未知的迁移版本 {revision!r}:{exc}") from exc
    if not plan.revisions:
        click.echo(f"nothing to undo: database at {plan.current}")
        return
    click.echo(f"将从 {plan.current} 回退到 {revision} / undoes:")
    for line in plan.revisions:
        click.echo(f"  {line}")
    click.echo(f"将删除 / drops ({len(plan.drops)}):")
    for line in plan.drops:
        click.echo(f"  {line}")
    if not yes:
        raise click.ClickException("未执行:确认无误后加 --yes 再运行 / not done: add --yes")
    downgrade(url, revision)
    click.echo(f"database at {revision}")


@db.command("check")
@click.pass_context
def db_check(ctx: click.Context) -> None:
    """Fail when the models and the migrated database disagree (alembic check)."""
    from migrations.run import check

    check(settings_from(ctx).database_url)
    click.echo("models and migrations agree")


@db.command("current")
@click.pass_context
def db_current(ctx: click.Context) -> None:
    """Print the current revision."""
    from migrations.run import current

    click.echo(current(settings_from(ctx).database_url))


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
