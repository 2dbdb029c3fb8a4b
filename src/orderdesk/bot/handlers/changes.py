"""变更 / change: raise a change request (变更单) on an order and send it for approval."""

from __future__ import annotations

from orderdesk.bot.bound import bound_order_number, names_order
from orderdesk.bot.parsing import BadArguments, order_ref, split_args
from orderdesk.bot.router import Context, router
from orderdesk.orders.changes.parsing import parse_words
from orderdesk.orders.changes.service import ChangeInput, create_change, describe
from orderdesk.wecom.replies import Reply, TextReply


@router.command(
    "变更",
    "change",
    summary="发起变更单并提交审批(金额 +3万 / -5000,工期 延期2周 / 提前3天)",
    usage="变更 <订单号> <变更内容> [±金额] [延期N天|延期N周|提前N天](绑定订单的群里可省略订单号)",
    example="变更 SO-2026-0001 增加移动端 +3万 延期2周",
    mutates=True,
)
def change_command(ctx: Context) -> Reply:
    words = split_args(ctx.args)
    bound = bound_order_number(ctx)
    if bound is not None and not (words and names_order(words[0])):
        words = [bound, *words]  # a bound group: the number may be left out
    if len(words) < 2:
        raise BadArguments("请写上订单号和变更内容,如:变更 SO-2026-0001 增加移动端 +3万 延期2周")
    number = order_ref(words[0])
    parsed = parse_words(words[1:])
    if not parsed.scope:
        raise BadArguments("请写上变更内容(做什么变更),金额和工期可选")
    data = ChangeInput(
        scope=parsed.scope, amount_delta=parsed.amount_delta, schedule_days=parsed.schedule_days
    )
    change = create_change(ctx.session, actor=ctx.actor, number=number, data=data, submit=True)
    # A group reads the reply: the figure only where the order's money may be shown.
    shown = describe(change, with_money=ctx.view.shows_money(change.order))
    said = f"({shown})" if shown else ""
    return TextReply(
        f"已发起变更单 {change.number}:{change.scope}{said},已提交审批,"
        "审批通过后订单金额、付款计划和项目计划会自动调整"
    )
