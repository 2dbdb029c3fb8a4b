"""回款 / paid (finance) and 逾期 / overdue."""

from __future__ import annotations

from orderdesk.bot.bound import bound_order_number
from orderdesk.bot.parsing import (
    BadArguments,
    looks_like_date,
    order_ref,
    parse_amount,
    parse_date,
    split_args,
)
from orderdesk.bot.render import overdue_text, receipt_text
from orderdesk.bot.router import Context, router
from orderdesk.core import clock
from orderdesk.money import collections, receipts
from orderdesk.wecom.replies import MarkdownReply, Reply, TextReply


@router.command(
    "回款",
    "paid",
    "receipt",
    summary="财务登记回款,自动核销到分期,回复剩余应收",
    usage="回款 <订单号> <金额> [日期] [备注](绑定订单的群里可省略订单号)",
    example="回款 SO-2026-0001 1.2万 昨天 首付款",
    mutates=True,
)
def paid_command(ctx: Context) -> Reply:
    parts = split_args(ctx.args, 3)
    bound = bound_order_number(ctx)
    if bound is not None and parts and _is_amount(parts[0]):
        # A bound group: `回款 3万` is a receipt on the bound order.
        parts = [bound, *split_args(ctx.args, 2)]
    if len(parts) < 2:
        raise BadArguments("请写上订单号和金额")
    number = order_ref(parts[0])
    amount = parse_amount(parts[1])
    received_on = None
    rest = parts[2:]
    if rest and looks_like_date(rest[0].split()[0]):
        first, _, tail = " ".join(rest).partition(" ")
        received_on = parse_date(first, today=clock.today(ctx.rt.settings.tz))
        rest = [tail] if tail else []
    note = " ".join(rest).strip() or None
    result = receipts.record_receipt(
        ctx.session,
        actor=ctx.actor,
        number=number,
        amount=amount,
        received_on=received_on,
        note=note,
    )
    return TextReply(receipt_text(result))


def _is_amount(word: str) -> bool:
    try:
        parse_amount(word)
    except BadArguments:
        return False
    return True


@router.command(
    "逾期",
    "overdue",
    summary="我能看到的逾期应收,按客户汇总",
    usage="逾期",
    example="逾期",
)
def overdue_command(ctx: Context) -> Reply:
    view = ctx.view
    if ctx.in_group and view.binding is None:
        # An unbound group could hold anyone: money stays in the 1:1 chat.
        return TextReply("逾期金额只在单聊或已绑定客户的群里显示,请私聊我发送「逾期」")
    groups = collections.overdue_for(ctx.session, actor=ctx.actor)
    if ctx.in_group and view.binding is not None:
        wanted = view.binding.customer_id
        groups = [g for g in groups if g.customer_id == wanted]
    return MarkdownReply(overdue_text(groups))
