"""`orderdesk export KIND --from --to --format xlsx|csv [--out FILE] --as USERID` (issue 13).

The export runs with the data scope and roles of USERID (finance, gm or admin), exactly as the
API download does: a refused export is one line on stderr and exit code 1, and writes no file."""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path

import click
from sqlalchemy import select

from orderdesk.cli.base import settings_from
from orderdesk.core.errors import DomainError
from orderdesk.exports.service import KINDS, export
from orderdesk.jobs.reports import rebuild_ar_balances
from orderdesk.models import Staff
from orderdesk.reports.packs import bind_management_group
from orderdesk.runtime import build_runtime, install


def register(main: click.Group) -> None:
    main.add_command(export_cmd)
    main.add_command(reports_group)


@click.command("export")
@click.argument("kind", type=click.Choice(list(KINDS)))
@click.option("--from", "date_from", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--to", "date_to", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--format", "fmt", default="xlsx", type=click.Choice(["xlsx", "csv"]))
@click.option("--out", "out", default=None, help="File to write (default KIND_FROM_TO.FORMAT).")
@click.option("--as", "userid", required=True, help="Whose roles and scope (finance, gm, admin).")
@click.pass_context
def export_cmd(
    ctx: click.Context,
    kind: str,
    date_from: datetime,
    date_to: datetime,
    fmt: str,
    out: str | None,
    userid: str,
) -> None:
    """Export a period's orders, receipts, invoices, timesheets, AR aging or accounting journal."""

    start, end = date_from.date(), date_to.date()
    path = Path(out or f"{kind}_{start:%Y%m%d}_{end:%Y%m%d}.{fmt}")
    rt = install(build_runtime(settings_from(ctx)))
    try:
        with rt.db.transaction() as session:
            actor = session.scalars(select(Staff).where(Staff.userid == userid)).one_or_none()
            if actor is None:
                raise DomainError(f"找不到员工 {userid}")
            count = export(
                session, actor=actor, kind=kind, date_from=start, date_to=end, fmt=fmt, path=path
            )
    except DomainError as exc:
        path.unlink(missing_ok=True)
        click.echo(f"错误 / error: {exc.message}", err=True)
        sys.exit(1)
    finally:
        rt.close()
    click.echo(f"已导出 {count} 行到 {path}")


@click.group("reports")
def reports_group() -> None:
    """Scheduled report packs: the management group, the kept AR balances (issue 13)."""


@reports_group.command("rebuild-balances")
@click.pass_context
def rebuild_balances(ctx: click.Context) -> None:
    """Recompute the AR aging balances for today (the nightly job does this at 00:07)."""
    rt = install(build_runtime(settings_from(ctx)))
    try:
        started = time.perf_counter()
        rebuild_ar_balances(force=True)
        took = time.perf_counter() - started
    finally:
        rt.close()
    click.echo(f"应收账龄余额已按今天重算({took:.1f} 秒)")


@reports_group.command("bind-management")
@click.argument("kind", type=click.Choice(["appchat", "webhook"]))
@click.argument("chat_id")
@click.option("--name", default=None, help="A name to recognise the group by.")
@click.pass_context
def bind_management(ctx: click.Context, kind: str, chat_id: str, name: str | None) -> None:
    """Make an app group chat (chatid) or a group robot (webhook key) the management group that
    receives the weekly management report."""
    rt = install(build_runtime(settings_from(ctx)))
    try:
        with rt.db.transaction() as session:
            binding = bind_management_group(session, kind=kind, chat_id=chat_id, name=name)
            label = f"{binding.name}({kind})"
    except DomainError as exc:
        click.echo(f"错误 / error: {exc.message}", err=True)
        ctx.exit(1)
    finally:
        rt.close()
    click.echo(f"已设为管理群:{label},每周第一个工作日 09:03 推送管理周报")
