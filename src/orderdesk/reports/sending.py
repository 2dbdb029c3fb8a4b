"""Report charts and workbooks into the outbox: render, stash the bytes, queue the message.

Rendering is the slow part (matplotlib, ~100-300 ms a chart), so callers are jobs, never the
5-second callback. The outbox row carries a reference to the stashed bytes; delivery uploads
them (wecom.outbox_media), so a retry days later still works.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from orderdesk.models import OutboxMessage
from orderdesk.reports import charts
from orderdesk.reports.table import Table
from orderdesk.settings import Settings
from orderdesk.wecom import outbox, outbox_media


def queue_chart(
    session: Session,
    *,
    settings: Settings,
    table: Table,
    channel: str,
    recipient: str,
    key: str,
    after: str | None = None,
) -> OutboxMessage:
    png = charts.render(table, "png")
    ref = outbox_media.stash(settings, kind="image", name=f"{table.title}.png", content=png)
    return outbox.add(
        session,
        key=key,
        channel=channel,
        recipient=recipient,
        payload=outbox_media.message(ref),
        after=after,
    )


def queue_file(
    session: Session,
    *,
    settings: Settings,
    name: str,
    content: bytes,
    channel: str,
    recipient: str,
    key: str,
    after: str | None = None,
) -> OutboxMessage:
    ref = outbox_media.stash(settings, kind="file", name=name, content=content)
    return outbox.add(
        session,
        key=key,
        channel=channel,
        recipient=recipient,
        payload=outbox_media.message(ref),
        after=after,
    )
