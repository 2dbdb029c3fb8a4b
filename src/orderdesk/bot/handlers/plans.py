"""付款计划 / plan (finance: see it, move a due date, shift amounts between installments) and
抵扣 / applycredit (finance: pay an installment from the customer's unallocated credit).

    计划 SO-2026-0001                      the plan
    计划 SO-2026-0001 验收款 到期 12-30      a new due date
    计划 SO-2026-0001 首付款 15000 验收款 25000   amounts (the sum stays the contract amount)
    抵扣 SO-2026-0001 验收款 [金额]          credit applied (default: as much as both allow)
"""

from __future__ import annotations

from typing import Any

from orderdesk.bot.bound import bound_order_number
from orderdesk.bot.parsing import (
    BadArguments,
    is_order_number,
    order_ref,
    parse_amount,
    parse_date,
)
from orderdesk.bot.render import day, money
from orderdesk.bot.router import Context, router
from orderdesk.core import clock
from orderdesk.directory.permissions import require_role
from orderdesk.models import Installment
from orderdesk.money import credit, plan_edits
from orderdesk.money.collections import plan_of
from orderdesk.orders.service import get_order
from orderdesk.wecom.replies import Reply, TextReply

DUE_WORDS = ("到期", "到期日", "due")
STATUS_ZH = {
    "planned": "未到期",
    "due": "待收",
    "partially_paid": "部分收款",
    "paid": "已结清",
    "overdue": "逾期",
    "cancelled": "已取消",
}


def _ref_and_rest(ctx: Context) -> tuple[str, list[str]]:
    parts = ctx.args.split()
    bound = bound_order_number(ctx)
    if bound is not None and (not parts or not is_order_number(parts[0])):
        parts = [bound, *parts]  # a bound group: the order is implied
    if not parts:
        raise BadArguments("请写上订单号")
    return order_ref(parts[0]), parts[1:]


@router.command(
    "计划",
    "付款计划",
    "plan",
    summary="查看或调整订单的付款计划(财务):改到期日,或在分期之间调整金额",
    usage="计划 <订单号> [<分期> 到期 <日期> | <分期> <金额> <分期> <金额> …]",
    example="计划 SO-2026-0001 验收款 到期 12-30",
    mutates=True,
    internal_only=True,
)
def plan_command(ctx: Context) -> Reply:
    number, rest = _ref_and_rest(ctx)
    require_role(ctx.actor, "finance", "gm", "admin")
    if not rest:
        return TextReply(_plan_text(ctx, number))
    result = plan_edits.edit_plan_by_name(
        ctx.session, actor=ctx.actor, number=number, edits=_edits(ctx, rest)
    )
    if not result.changes:
        return TextReply("付款计划没有变化")
    lines = [f"已调整 {result.order.number} 的付款计划:"]
    lines += [f"· {plan_edits.describe_change(c)}" for c in result.changes]
    return TextReply("\n".join(lines))


def _edits(ctx: Context, words: list[str]) -> list[tuple[int | str, dict[str, Any]]]:
    if len(words) == 3 and words[1] in DUE_WORDS:
        due = parse_date(words[2], today=clock.today(ctx.rt.settings.tz))
        return [(words[0], {"due_date": due.isoformat()})]
    if len(words) % 2:
        raise BadArguments("请写「<分期> 到期 <日期>」或成对的「<分期> <金额>」")
    pairs = zip(words[::2], words[1::2], strict=True)
    return [(name, {"amount": str(parse_amount(value))}) for name, value in pairs]


def _plan_text(ctx: Context, number: str) -> str:
    order = get_order(ctx.session, actor=ctx.actor, number=number)
    plan = plan_of(ctx.session, order)
    if plan is None:
        return f"{order.number} 还没有付款计划"
    insts = sorted(
        (i for i in plan.installments if i.status != "cancelled"), key=lambda i: i.sequence
    )
    lines = [f"{order.number} 付款计划(共 {money(plan.total)}):"]
    lines += [_line(i) for i in insts]
    return "\n".join(lines)


def _line(inst: Installment) -> str:
    state = STATUS_ZH.get(inst.status, inst.status)
    return (
        f"· {inst.name} {money(inst.amount)},到期 {day(inst.due_date)},{state},"
        f"已收 {money(inst.paid_amount)},已开票 {money(inst.invoiced_amount)}"
    )


@router.command(
    "抵扣",
    "预收抵扣",
    "applycredit",
    summary="财务用客户预收(多收的回款)抵扣订单的一个分期",
    usage="抵扣 <订单号> <分期名称> [金额]",
    example="抵扣 SO-2026-0001 验收款",
    mutates=True,
    internal_only=True,
)
def credit_command(ctx: Context) -> Reply:
    number, rest = _ref_and_rest(ctx)
    if not rest:
        raise BadArguments("请写上要抵扣的分期名称")
    amount = str(parse_amount(rest[1])) if len(rest) > 1 else None
    result = credit.apply_credit_to(
        ctx.session, actor=ctx.actor, number=number, installment=rest[0], amount=amount
    )
    return TextReply(
        f"已用预收抵扣 {result.order.number} {result.installment.name} {money(result.amount)}"
        f"(来自 {'、'.join(a.receipt.number for a in result.applications)}),"
        f"剩余预收 {money(result.credit_left)}"
    )
