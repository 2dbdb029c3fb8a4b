"""工单 / ticket: after-sales tickets from the chat.

- `工单 SO-2026-0001 登录页报错 [P1]`: create (in a group bound to the order, the number may be
  left out: `工单 登录页报错 P1`);
- `工单`: my open tickets;
- `工单 TK-2026-00001 处理中|待客户|已解决|关闭|重开`: move a ticket on.
"""

from __future__ import annotations

from orderdesk.bot.bound import bound_order_number, names_order
from orderdesk.bot.parsing import BadArguments, order_ref, split_args
from orderdesk.bot.router import Context, router
from orderdesk.delivery import ticket_flow
from orderdesk.delivery import ticket_messages as texts
from orderdesk.delivery.tickets import (
    NewTicket,
    create_ticket,
    my_open_tickets,
    normalize_ticket_number,
)
from orderdesk.models.ticket import PRIORITIES
from orderdesk.wecom.replies import Reply, TextReply

# What people type for each step (Chinese first, English aliases).
STEPS = {
    "处理中": "in_progress",
    "处理": "in_progress",
    "in_progress": "in_progress",
    "start": "in_progress",
    "待客户": "waiting_client",
    "待客户反馈": "waiting_client",
    "waiting": "waiting_client",
    "已解决": "resolved",
    "解决": "resolved",
    "resolved": "resolved",
    "resolve": "resolved",
    "关闭": "closed",
    "close": "closed",
    "closed": "closed",
    "重开": "reopen",
    "重新打开": "reopen",
    "reopen": "reopen",
}
USAGE = "例如:工单 SO-2026-0001 登录页报错 P1;或 工单 TK-2026-00001 已解决"


@router.command(
    "工单",
    "ticket",
    "tickets",
    summary="售后工单:新建、查看我的未完成工单、更新状态",
    usage="工单 <订单号> <问题> [P1-P4] | 工单 | 工单 <工单号> 处理中/已解决/关闭/重开",
    example="工单 SO-2026-0001 登录页报错 P1",
    mutates=True,
    internal_only=True,
)
def ticket_command(ctx: Context) -> Reply:
    tz = ctx.rt.settings.tz
    parts = split_args(ctx.args, 1)
    if not parts:
        return TextReply(texts.list_reply(my_open_tickets(ctx.session, actor=ctx.actor), tz))
    ticket_no = normalize_ticket_number(parts[0])
    if ticket_no is not None:
        return _step(ctx, ticket_no, parts[1] if len(parts) > 1 else "")
    return _create(ctx)


def _step(ctx: Context, number: str, word: str) -> Reply:
    step = STEPS.get(word.strip().lower())
    if step is None:
        raise BadArguments("请写上新状态:处理中、待客户、已解决、关闭 或 重开")
    ticket = ticket_flow.transition(ctx.session, actor=ctx.actor, number=number, to=step)
    verb = "已重新打开" if step == "reopen" else f"已更新为「{ticket.status_zh}」"
    return TextReply(f"工单 {ticket.number} {verb}")


def _create(ctx: Context) -> Reply:
    words = ctx.args.split()
    priority = "P3"
    for index in (-1, 0):
        if words and words[index].upper() in PRIORITIES:
            priority = words.pop(index).upper()
            break
    bound = bound_order_number(ctx)
    if words and names_order(words[0]):
        number, title_words = order_ref(words[0]), words[1:]
    elif bound is not None:
        number, title_words = bound, words
    else:
        raise BadArguments(f"请写上订单号和问题描述。{USAGE}")
    if not title_words:
        raise BadArguments(f"请写上问题描述。{USAGE}")
    ticket = create_ticket(
        ctx.session,
        actor=ctx.actor,
        data=NewTicket(order_number=number, title=" ".join(title_words), priority=priority),
    )
    return TextReply(texts.created_reply(ticket, ctx.rt.settings.tz))
