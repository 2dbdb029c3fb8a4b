"""Scheduled report packs, through the outbox.

- Weekly management report: on the first WORKING day of the week (a Monday holiday moves it to
  Tuesday, and so on), to every active group bound as the management group (ChatBinding
  audience `management`, kind appchat or webhook): bookings, collections against plan (the
  installments due), aging and the top overdue customers as text, then three charts.
- Monthly finance pack: on the first working day of the month, one workbook (aging, last month's
  bookings / invoicing / collections, collection rate and DSO, project profitability, the sales
  leaderboard) as a file message to everyone with the finance role.
Each message has an idempotency key per week / month, so a second run sends nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.core.errors import ValidationFailed
from orderdesk.core.formatting import money
from orderdesk.core.workdays import is_working_day
from orderdesk.directory.staff import staff_with_role
from orderdesk.models import ChatBinding, OutboxMessage, Staff
from orderdesk.money.digests import PUSH_KINDS, group_payload
from orderdesk.money.schedule import next_send_time
from orderdesk.reports.aging import BUCKETS
from orderdesk.reports.revenue import revenue_by_month
from orderdesk.reports.sending import queue_chart, queue_file
from orderdesk.reports.service import last_month, run_report
from orderdesk.reports.table import Table
from orderdesk.reports.xlsx import tables_xlsx
from orderdesk.settings import Settings
from orderdesk.wecom import cards, outbox

MANAGEMENT = "management"  # ChatBinding.audience of the management group
TOP_OVERDUE = 5


def first_working_day(start: date, today: date, settings: Settings) -> bool:
    """True when `today` is the first working day from `start` on."""
    day = start
    while day < today:
        if is_working_day(day, settings):
            return False
        day += timedelta(days=1)
    return is_working_day(today, settings)


def management_viewer(session: Session) -> Staff | None:
    """Whose scope the packs are computed in: someone who sees every figure."""
    for role in ("gm", "finance", "admin"):
        people = staff_with_role(session, role)
        if people:
            return people[0]
    return None


def _pct(value: Decimal | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def weekly_text(week: str, revenue_week: Table, revenue_month: Table, aging: Table) -> str:
    w, m, a = revenue_week.totals, revenue_month.totals, aging.totals
    overdue = a["total"] - a["not_due"]
    lines = [
        f"**管理周报({week})**",
        f"上周签约 {money(w['bookings'])},回款 {money(w['collected'])}",
        f"本月至今:签约 {money(m['bookings'])},回款 {money(m['collected'])} / "
        f"计划 {money(m['due'])}(完成 {_pct(m['collection_rate'])})",
        f"应收合计 {money(a['total'])},其中逾期 {money(overdue)}",
    ]
    lines += [f"- {t}:{money(a[k])}" for k, t, _b in BUCKETS[1:] if a[k]]
    worst = sorted(aging.rows, key=lambda r: r["not_due"] - r["total"])[:TOP_OVERDUE]
    worst = [r for r in worst if r["total"] > r["not_due"]]
    if worst:
        lines.append("逾期最多的客户:")
        lines += [
            f"{n}. {r['label']} {money(r['total'] - r['not_due'])}" for n, r in enumerate(worst, 1)
        ]
    return "\n".join(lines)


@dataclass
class PackStats:
    messages: int = 0
    groups: int = 0
    skipped: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"messages": self.messages, "groups": self.groups, "skipped": self.skipped}


def _delay(rows: list[OutboxMessage], now: datetime, settings: Settings) -> None:
    # Pushes wait for business hours and skip the :00 / :30 rush (platform advice).
    when = next_send_time(now, settings)
    for row in rows:
        if row.status == "pending" and row.attempts == 0:
            row.next_attempt_at = when


def _weekly_tables(session: Session, viewer: Staff, today: date) -> list[Table]:
    monday = today - timedelta(days=today.weekday())
    last = monday - timedelta(days=7)
    week = revenue_by_month(session, actor=viewer, start=last, end=monday, title="上周")
    month = revenue_by_month(
        session,
        actor=viewer,
        start=today.replace(day=1),
        end=today + timedelta(days=1),
        title="本月",
    )
    aging = run_report(session, actor=viewer, name="ar-aging", as_of=today)
    return [week, month, aging]


def _quarter(today: date) -> str:
    return f"{today.year}Q{(today.month - 1) // 3 + 1}"


def _weekly_charts(session: Session, viewer: Staff, today: date) -> list[Table]:
    """Aging by business line, this quarter's bookings, this quarter's collection rate."""
    quarter = _quarter(today)
    return [
        run_report(session, actor=viewer, name="ar-aging", as_of=today, group_by="business_line"),
        run_report(session, actor=viewer, name="revenue", period=quarter),
        run_report(session, actor=viewer, name="collection", period=quarter),
    ]


def bind_management_group(
    session: Session, *, kind: str, chat_id: str, name: str | None = None
) -> ChatBinding:
    """Make an app group chat (appchat chatid) or a group robot (webhook key) the management
    group. The same chat bound before for something else becomes the management group."""
    if kind not in PUSH_KINDS:
        raise ValidationFailed("管理群只能是应用群聊(appchat)或群机器人(webhook)")
    chat_id = (chat_id or "").strip()
    if not chat_id or len(chat_id) > 128:
        raise ValidationFailed("请提供群聊 chatid 或机器人 key(最多 128 个字符)")
    binding = session.scalar(
        select(ChatBinding).where(ChatBinding.kind == kind, ChatBinding.chat_id == chat_id)
    )
    if binding is None:
        binding = ChatBinding(kind=kind, chat_id=chat_id)
        session.add(binding)
    binding.audience, binding.active = MANAGEMENT, True
    binding.order_id = binding.customer_id = binding.project_id = None
    binding.name = name or binding.name or "管理群"
    session.flush()
    return binding


def management_groups(session: Session) -> list[ChatBinding]:
    return list(
        session.scalars(
            select(ChatBinding)
            .where(
                ChatBinding.active.is_(True),
                ChatBinding.audience == MANAGEMENT,
                ChatBinding.kind.in_(PUSH_KINDS),
            )
            .order_by(ChatBinding.id)
        )
    )


def _send_weekly(
    session: Session,
    settings: Settings,
    binding: ChatBinding,
    text: str,
    charts: list[Table],
    week: str,
) -> list[OutboxMessage]:
    channel, payload = group_payload(binding.kind, text)
    prefix = f"mgmt-weekly:{binding.id}:{week}"
    rows = [
        outbox.add(
            session,
            key=f"{prefix}:text",
            channel=channel,
            recipient=binding.chat_id,
            payload=payload,
        )
    ]
    for n, table in enumerate(charts, 1):
        # Each chart after the one before: the group reads text, then the charts in order.
        row = queue_chart(
            session,
            settings=settings,
            table=table,
            channel=channel,
            recipient=binding.chat_id,
            key=f"{prefix}:chart{n}",
            after=rows[-1].idempotency_key,
        )
        rows.append(row)
    return rows


def weekly_management_report(
    session: Session, *, settings: Settings, today: date, now: datetime
) -> dict[str, Any]:
    stats = PackStats()
    monday = today - timedelta(days=today.weekday())
    if not first_working_day(monday, today, settings):
        stats.skipped = "不是本周第一个工作日"
        return stats.as_dict()
    groups, viewer = management_groups(session), management_viewer(session)
    if not groups or viewer is None:
        stats.skipped = "没有绑定的管理群" if not groups else "没有可查看全部数据的人员"
        return stats.as_dict()
    iso = today.isocalendar()
    week = f"{iso.year}-W{iso.week:02d}"
    text = weekly_text(week, *_weekly_tables(session, viewer, today))
    charts = _weekly_charts(session, viewer, today)
    rows: list[OutboxMessage] = []
    for binding in groups:
        rows += _send_weekly(session, settings, binding, text, charts, week)
    _delay(rows, now, settings)
    stats.messages, stats.groups = len(rows), len(groups)
    return stats.as_dict()


def finance_pack_tables(session: Session, viewer: Staff, today: date) -> list[Table]:
    month = last_month(today)
    return [
        run_report(session, actor=viewer, name="ar-aging", as_of=today),
        run_report(session, actor=viewer, name="revenue", period=month),
        run_report(session, actor=viewer, name="collection", period=month),
        run_report(session, actor=viewer, name="profitability"),
        run_report(session, actor=viewer, name="leaderboard", period=month),
    ]


def monthly_finance_pack(
    session: Session, *, settings: Settings, today: date, now: datetime
) -> dict[str, Any]:
    stats = PackStats()
    if not first_working_day(today.replace(day=1), today, settings):
        stats.skipped = "不是本月第一个工作日"
        return stats.as_dict()
    finance = [p.userid for p in staff_with_role(session, "finance")][:1000]
    viewer = management_viewer(session)
    if not finance or viewer is None:
        stats.skipped = "没有财务人员"
        return stats.as_dict()
    month = last_month(today)
    tables = finance_pack_tables(session, viewer, today)
    revenue = tables[1].totals
    text = (
        f"**财务月报({month})**\n签约 {money(revenue['bookings'])} · 开票 "
        f"{money(revenue['invoiced'])} · 回款 {money(revenue['collected'])}\n"
        f"应收合计 {money(tables[0].totals['total'])};明细见附件工作簿"
    )
    key = f"finance-pack:{month}"
    recipient = "|".join(finance)
    first = outbox.add(
        session,
        key=f"{key}:text",
        channel="app_message",
        recipient=recipient,
        payload=cards.app_markdown(text),
    )
    book = queue_file(
        session,
        settings=settings,
        name=f"财务月报-{month}.xlsx",
        content=tables_xlsx(tables),
        channel="app_message",
        recipient=recipient,
        key=f"{key}:file",
        after=first.idempotency_key,
    )
    _delay([first, book], now, settings)
    stats.messages = 2
    return stats.as_dict()
