"""费用 / 报销 / expense: record a project expense from the chat (issue 13). Same rules as
`POST /api/v1/projects/{code}/expenses` (projects.expenses); the receipt photo is sent in the
mini-app or H5, the chat records the figure."""

from __future__ import annotations

from orderdesk.bot.bound import bound_order_number
from orderdesk.bot.parsing import BadArguments, order_ref, split_args
from orderdesk.bot.router import Context, router
from orderdesk.core.formatting import money
from orderdesk.projects.expenses import CATEGORIES, record_expense
from orderdesk.wecom.replies import Reply, TextReply


def _looks_like_category(word: str) -> bool:
    return word in CATEGORIES.values() or word.lower() in CATEGORIES


@router.command(
    "费用",
    "报销",
    "expense",
    summary="登记项目费用(交通、住宿、餐饮、材料、外包、其他)",
    usage="费用 <项目编号|订单号> <类别> <金额> [备注](绑定订单的群里可省略编号)",
    example="费用 PRJ-2026-0001 交通 320 客户现场往返",
    mutates=True,
    internal_only=True,
)
def expense_command(ctx: Context) -> Reply:
    parts = split_args(ctx.args, 3)
    bound = bound_order_number(ctx)
    if bound is not None and parts and _looks_like_category(parts[0]):
        parts = [bound, *split_args(ctx.args, 2)]
    if len(parts) < 3:
        raise BadArguments("请写上项目编号(或订单号)、类别和金额,如:费用 PRJ-2026-0001 交通 320")
    ref = order_ref(parts[0])
    amount = parts[2].replace("元", "").replace("¥", "").replace(",", "")
    expense = record_expense(
        ctx.session,
        actor=ctx.actor,
        settings=ctx.rt.settings,
        ref=ref,
        category=parts[1],
        amount=amount,
        note=parts[3] if len(parts) > 3 else None,
    )
    name = CATEGORIES[expense.category]
    return TextReply(
        f"已登记费用 {name} {money(expense.amount)}({expense.spent_on.isoformat()},{ref})"
    )
