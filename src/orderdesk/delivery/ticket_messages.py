"""Texts of after-sales tickets: timeline lines, chat replies, notices (Chinese first)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from orderdesk.models.ticket import TICKET_CATEGORY_ZH

if TYPE_CHECKING:
    from orderdesk.models import Ticket

LIST_LINES = 12
LEVEL_ZH = {0: "即将超时提醒", 1: "已超时", 2: "超时升级(上级)", 3: "超时升级(业务线负责人)"}


def when(at: datetime | None, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%m-%d %H:%M") if at is not None else "—"


def handler_name(ticket: Ticket) -> str:
    if ticket.assignee is not None:
        return ticket.assignee.name
    line = ticket.business_line
    return f"{line.name}队列" if line is not None else "待分派"


def ticket_line(ticket: Ticket, tz: ZoneInfo) -> str:
    return (
        f"- {ticket.number} [{ticket.priority}] {ticket.title}({ticket.status_zh},"
        f"{handler_name(ticket)},解决时限 {when(ticket.resolution_due_at, tz)})"
    )


def created_reply(ticket: Ticket, tz: ZoneInfo) -> str:
    category = TICKET_CATEGORY_ZH.get(ticket.category, ticket.category)
    return (
        f"已创建工单 {ticket.number} [{ticket.priority}] {ticket.title}\n"
        f"订单 {ticket.order.number} · {category} · 处理人 {handler_name(ticket)}\n"
        f"首次响应时限 {when(ticket.first_response_due_at, tz)},"
        f"解决时限 {when(ticket.resolution_due_at, tz)}\n"
        f"更新状态:工单 {ticket.number} 处理中 / 已解决 / 关闭"
    )


def list_reply(tickets: Sequence[Ticket], tz: ZoneInfo) -> str:
    if not tickets:
        return "您目前没有未完成的工单"
    lines = [f"您的未完成工单({len(tickets)} 张):"]
    lines += [ticket_line(t, tz) for t in tickets[:LIST_LINES]]
    if len(tickets) > LIST_LINES:
        lines.append(f"…另有 {len(tickets) - LIST_LINES} 张,请在 OrderDesk 中查看")
    return "\n".join(lines)


def new_ticket_notice(ticket: Ticket, tz: ZoneInfo) -> str:
    return (
        f"**新工单 {ticket.number} [{ticket.priority}]**\n{ticket.title}\n"
        f"客户 {ticket.customer.name} · 订单 {ticket.order.number}\n"
        f"首次响应时限 {when(ticket.first_response_due_at, tz)}"
    )


def sla_notice(level: int, rows: Sequence[tuple[str, str, str]], more: int) -> str:
    """One notice per person and level; rows are (number, priority, title)."""
    head = "工单即将超时,请尽快处理" if level == 0 else f"工单{LEVEL_ZH[level]},请跟进"
    lines = [f"**{head}({len(rows) + more} 张)**"]
    lines += [f"- {no} [{prio}] {title}" for no, prio, title in rows]
    if more:
        lines.append(f"…另有 {more} 张,请在 OrderDesk 中查看")
    return "\n".join(lines)


def digest_section(rows: Sequence[tuple[str, str, str, str]]) -> str:
    """The morning digest's ticket part: (number, priority, title, status_zh)."""
    lines = [f"**未完成工单 {len(rows)} 张**"]
    lines += [f"- {no} [{prio}] {title}({status})" for no, prio, title, status in rows[:8]]
    if len(rows) > 8:
        lines.append(f"…另有 {len(rows) - 8} 张")
    return "\n".join(lines)
