"""RQ task functions of the reports: a chart asked for in the chat, the weekly management
report and the monthly finance pack. Plain arguments; each opens its own transaction."""

from __future__ import annotations

import logging

from sqlalchemy import select

from orderdesk import runtime
from orderdesk.core import clock
from orderdesk.core.errors import DomainError
from orderdesk.models import Staff
from orderdesk.money import ar_balances
from orderdesk.orders.robots import robot_of
from orderdesk.reports import packs
from orderdesk.reports.sending import queue_chart
from orderdesk.reports.service import run_report

log = logging.getLogger(__name__)


def send_report_chart(
    *,
    userid: str,
    name: str,
    key: str,
    channel: str = "app_message",
    recipient: str | None = None,
    chat_id: str | None = None,
    period: str | None = None,
    group_by: str | None = None,
    project: str | None = None,
) -> bool:
    """Render the chart of `name` as `userid` sees it and queue it as an image message: to the
    bot group `chat_id` through its robot when it is still an internal group with one, else to
    `recipient` (the asker by default)."""
    rt = runtime.current()
    with rt.db.transaction() as session:
        actor = session.scalar(select(Staff).where(Staff.userid == userid))
        if actor is None or not actor.active:
            return False
        try:
            table = run_report(
                session, actor=actor, name=name, period=period, group_by=group_by, project=project
            )
        except DomainError:
            log.info("chart %s for %s: report refused; nothing sent", name, userid)
            return False
        robot = robot_of(session, chat_id) if chat_id else None
        if robot is not None:
            channel, recipient = "webhook", robot
        elif chat_id:
            log.info("chart %s: group has no robot any more (or is a client group); 1:1", name)
            channel, recipient = "app_message", userid
        queue_chart(
            session,
            settings=rt.settings,
            table=table,
            channel=channel,
            recipient=recipient or userid,
            key=key,
        )
    return True


def weekly_management_report() -> dict[str, int]:
    rt = runtime.current()
    now = clock.now()
    today = now.astimezone(rt.settings.tz).date()
    with rt.db.transaction() as session:
        stats = packs.weekly_management_report(session, settings=rt.settings, today=today, now=now)
    log.info("weekly management report: %s", stats)
    return stats


def monthly_finance_pack() -> dict[str, int]:
    rt = runtime.current()
    now = clock.now()
    today = now.astimezone(rt.settings.tz).date()
    with rt.db.transaction() as session:
        stats = packs.monthly_finance_pack(session, settings=rt.settings, today=today, now=now)
    log.info("monthly finance pack: %s", stats)
    return stats


def rebuild_ar_balances(force: bool = False) -> bool:
    """Bucket the kept AR balances for today (company time). Skipped when they already are,
    so the jobs queued by a burst of stale-marking commits cost one rebuild, not one each."""
    rt = runtime.current()
    today = clock.today(rt.settings.tz)
    with rt.db.transaction() as session:
        if not force and ar_balances.state_day(session) == today:
            return False
        ar_balances.rebuild(session, today)
    log.info("AR balances rebuilt for %s", today)
    return True
