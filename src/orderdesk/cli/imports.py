"""`orderdesk import KIND FILE [--dry-run] [--skip-invalid] --as USERID` and
`orderdesk import template KIND` (issue 13).

The import runs with the roles of USERID (admin: customers, contacts, contracts, orders;
finance: contracts, orders, installments, receipts). Progress (rows/s, ETA) goes to stderr;
the summary to stdout; exit 1 when anything was refused (the error workbook is named)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select

from orderdesk.cli.base import settings_from
from orderdesk.core.errors import DomainError
from orderdesk.imports import reading
from orderdesk.imports.service import KINDS, make_kind, run_import, write_template
from orderdesk.models import Staff
from orderdesk.runtime import build_runtime, install


def register(main: click.Group) -> None:
    main.add_command(import_cmd)


class _ImportGroup(click.Group):
    """`import template KIND` is a subcommand; anything else is `import KIND FILE`."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        if args and args[0] != "template":
            return "run", run_cmd, args
        return super().resolve_command(ctx, args)


@click.group("import", cls=_ImportGroup)
def import_cmd() -> None:
    """Import customers, contacts, contracts, orders, installments or receipts (xlsx / csv)."""


def _actor(session: Any, userid: str) -> Staff:
    actor = session.scalars(select(Staff).where(Staff.userid == userid)).one_or_none()
    if actor is None:
        raise DomainError(f"找不到员工 {userid}")
    return actor


@import_cmd.command("template")
@click.argument("kind", type=click.Choice(KINDS))
@click.option("--out", default=None, help="File to write (default KIND_导入模板.xlsx).")
@click.option("--as", "userid", default="admin", show_default=True)
@click.pass_context
def template_cmd(ctx: click.Context, kind: str, out: str | None, userid: str) -> None:
    """Write a template workbook for KIND."""
    path = Path(out or f"{kind}_导入模板.xlsx")
    rt = install(build_runtime(settings_from(ctx)))
    try:
        with rt.db.transaction() as session:
            write_template(session, actor=_actor(session, userid), name=kind, path=path)
    except DomainError as exc:
        click.echo(f"错误 / error: {exc.message}", err=True)
        sys.exit(1)
    finally:
        rt.close()
    click.echo(f"已写入模板 {path}")


class _Bar:
    """Rows/s and an ETA on stderr: click's bar on a terminal (tqdm is not a dependency); a
    plain line every LOG_EVERY rows when stderr is a file or a pipe (logs, cron)."""

    LOG_EVERY = 10000

    def __init__(self, total: int | None) -> None:
        self.tty = sys.stderr.isatty()
        self.bar: Any = click.progressbar(
            length=total or 0,
            label="校验",
            file=sys.stderr,
            show_eta=True,
            show_pos=True,
            item_show_func=lambda _item: self._rate(),
        )
        self.started = time.monotonic()
        self.done = 0

    def _rate(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        return f"{self.done / elapsed:,.0f} 行/秒"

    def __call__(self, phase: str, done: int) -> None:
        if phase == "writing":
            self.bar.label = "写入"
            if not self.tty:
                click.echo(f"已校验 {self.done:,} 行({self._rate()}),写入中…", err=True)
            return
        if self.tty:
            self.bar.update(done - self.done)
        elif done // self.LOG_EVERY != self.done // self.LOG_EVERY:
            click.echo(f"已校验 {done:,} 行({self._rate()})", err=True)
        self.done = done

    def close(self) -> None:
        if self.tty:
            self.bar.render_finish()
        click.echo(f"用时 {time.monotonic() - self.started:.1f} 秒({self._rate()})", err=True)


@click.command("run")
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check and count, write nothing.")
@click.option("--skip-invalid", is_flag=True, help="Import the valid rows, refuse the others.")
@click.option("--as", "userid", default="admin", show_default=True, help="Whose roles.")
@click.pass_context
def run_cmd(
    ctx: click.Context, kind: str, file: Path, dry_run: bool, skip_invalid: bool, userid: str
) -> None:
    """Import FILE (.xlsx or .csv) as KIND."""
    rt = install(build_runtime(settings_from(ctx)))
    bar = _Bar(reading.count_rows(file))
    try:
        with rt.db.transaction() as session:
            actor = _actor(session, userid)
            summary = run_import(
                session,
                actor=actor,
                kind=make_kind(session, actor, kind),
                path=file,
                dry_run=dry_run,
                skip_invalid=skip_invalid,
                progress=bar,
            )
    except DomainError as exc:
        click.echo(f"\n错误 / error: {exc.message}", err=True)
        sys.exit(1)
    finally:
        bar.close()
        rt.close()
    head = "试运行(未写入):" if dry_run else ("已导入:" if summary.written else "未导入:")
    click.echo(head + summary.line())
    for line in summary.errors[:20]:
        click.echo(f"  {line}")
    if summary.error_file:
        click.echo(f"错误明细见 {summary.error_file}")
        sys.exit(1)
