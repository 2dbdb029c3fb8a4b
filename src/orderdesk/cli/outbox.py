"""`orderdesk outbox`: inspect, deliver and retry outgoing messages."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click
from sqlalchemy import func, select

from orderdesk.cli.base import settings_from
from orderdesk.models.wecom import OutboxMessage
from orderdesk.runtime import build_runtime, install
from orderdesk.wecom.delivery import deliver_batches, recover_stuck, retry
from orderdesk.wecom.group_targets import shown_recipient

if TYPE_CHECKING:
    from orderdesk.models.wecom import OutboxMessage
    from orderdesk.runtime import Runtime

STATUSES = ("pending", "sending", "sent", "dead")


def register(main: click.Group) -> None:
    """Attach the outbox commands to the `orderdesk` group."""
    main.add_command(outbox_group)


@contextmanager
def _runtime(ctx: click.Context) -> Iterator[Runtime]:
    rt = install(build_runtime(settings_from(ctx)))
    try:
        yield rt
    finally:
        rt.close()


def _line(row: OutboxMessage, tz: object) -> str:
    when = row.sent_at or row.next_attempt_at
    local = when.astimezone(tz).strftime("%m-%d %H:%M:%S") if when else "-"  # type: ignore[arg-type]
    preview = json.dumps(row.payload, ensure_ascii=False)
    if len(preview) > 60:
        preview = preview[:59] + "…"
    error = f"  !! {row.last_error[:80]}" if row.status != "sent" and row.last_error else ""
    to = shown_recipient(row.channel, row.recipient)  # a webhook's recipient is its key
    return (
        f"{row.id:>6}  {row.status:<7} {row.attempts:>2}x  {local}  {row.channel:<17} "
        f"{to[:24]:<24} {row.idempotency_key[:40]:<40} {preview}{error}"
    )


@click.group("outbox", invoke_without_command=True)
@click.option("--status", type=click.Choice(STATUSES), help="Only messages in this state.")
@click.option("--tail", default=20, show_default=True, type=click.IntRange(1, 10000))
@click.pass_context
def outbox_group(ctx: click.Context, status: str | None, tail: int) -> None:
    """外发消息 / the outbox: list the last N messages (newest last)."""
    if ctx.invoked_subcommand is not None:
        return
    with _runtime(ctx) as rt, rt.db.transaction() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(tail)
        if status:
            query = query.where(OutboxMessage.status == status)
        found = list(reversed(session.scalars(query).all()))
        grouped = session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        ).all()
        counts: dict[str, int] = {str(s): int(n) for s, n in grouped}
        for row in found:
            click.echo(_line(row, rt.settings.tz))
        summary = "  ".join(f"{s} {counts.get(s, 0)}" for s in STATUSES)
        click.echo(f"-- {len(found)} shown; {summary}")


@outbox_group.command("retry")
@click.argument("message_id", type=int)
@click.pass_context
def outbox_retry(ctx: click.Context, message_id: int) -> None:
    """重新投递一条 dead 消息 / re-queue a dead message."""
    with _runtime(ctx) as rt:
        try:
            retry(rt, message_id)
        except (LookupError, ValueError) as exc:
            click.echo(str(exc.args[0] if exc.args else exc), err=True)
            sys.exit(1)
        click.echo(f"消息 {message_id} 已重新排队 / re-queued")


@outbox_group.command("deliver")
@click.pass_context
def outbox_deliver(ctx: click.Context) -> None:
    """立即投递到期消息 / recover stuck rows and deliver every due message now."""
    with _runtime(ctx) as rt:
        recovered = recover_stuck(rt)
        report = deliver_batches(rt)
        click.echo(
            f"recovered {recovered}, attempted {report.claimed}: sent {report.sent}, "
            f"retrying {report.retrying}, waiting {report.waiting}, dead {report.dead}"
        )
