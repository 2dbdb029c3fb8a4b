"""回款 / paid and 撤销回款 / reverse (finance) and 逾期 / overdue.

A receipt that looks like a duplicate is answered with a card "可能重复,确认登记?" whose 确认登记
button records it (typing `… 确认` still works); the button names the receipt it was asked
about, so a second click (or a confirmation after someone else's) records nothing more."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from orderdesk.bot.bound import bound_order_number
from orderdesk.bot.parsing import (
    BadArguments,
    looks_like_date,
    order_ref,
    parse_amount,
    parse_date,
    split_args,
)
from orderdesk.bot.render import invoice_text, overdue_text, receipt_text, reversal_text
from orderdesk.bot.router import Context, router
from orderdesk.core import clock
from orderdesk.core.errors import Conflict
from orderdesk.money import collections, invoices, receipts
from orderdesk.wecom import cards
from orderdesk.wecom.events import CardEvent
from orderdesk.wecom.replies import CardReply, MarkdownReply, Reply, TextReply, UpdateCardReply

CONFIRM_WORDS = ("确认", "confirm")


@router.command(
    "回款",
    "paid",
    "receipt",
    summary="财务登记回款,自动核销到分期,回复剩余应收",
    usage="回款 <订单号> <金额> [日期] [备注] [确认](绑定订单的群里可省略订单号)",
    example="回款 SO-2026-0001 1.2万 昨天 首付款",
    mutates=True,
)
def paid_command(ctx: Context) -> Reply:
    words = ctx.args.split()
    # A trailing 确认 / confirm answers "可能重复,确认登记?" (see receipts.PossibleDuplicate).
    confirm = bool(words) and words[-1].lower() in CONFIRM_WORDS
    args = " ".join(words[:-1]) if confirm else ctx.args
    parts = split_args(args, 3)
    bound = bound_order_number(ctx)
    if bound is not None and parts and _is_amount(parts[0]):
        # A bound group: `回款 3万` is a receipt on the bound order.
        parts = [bound, *split_args(args, 2)]
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
    try:
        result = receipts.record_receipt(
            ctx.session,
            actor=ctx.actor,
            number=number,
            amount=amount,
            received_on=received_on,
            note=note,
            confirm_duplicate=confirm,
        )
    except receipts.PossibleDuplicate as exc:
        return _duplicate_card(ctx, exc, number, amount, received_on, note)
    return TextReply(receipt_text(result))


DUPLICATE_PREFIX = "rcdup:"


def _duplicate_card(
    ctx: Context,
    exc: receipts.PossibleDuplicate,
    number: str,
    amount: Decimal,
    received_on: date | None,
    note: str | None,
) -> Reply:
    day = received_on.isoformat() if received_on else ""
    # twin|order|amount|day|note: everything the confirmation re-records (WeCom returns the key).
    key = f"{DUPLICATE_PREFIX}{exc.twin_id}|{number}|{amount}|{day}|{(note or '')[:100]}"
    typed = f"回款 {ctx.args.strip()} 确认"
    card = cards.button_interaction(
        task_id=cards.safe_task_id(f"rcdup-{exc.twin_id}-{ctx.event.create_time}"),
        title="可能重复,确认登记?",
        sub_title=f"{exc.message}\n不是重复请点「确认登记」,或发送:{typed}",
        buttons=[cards.Button("确认登记", key, cards.STYLE_PRIMARY)],
    )
    return CardReply(card)


@router.action(DUPLICATE_PREFIX)
def confirm_duplicate_click(ctx: Context) -> Reply:
    parts = ctx.args.split("|", 4)
    if len(parts) != 5 or not parts[0].isdigit():
        return TextReply("这张卡片已失效,请重新发送回款命令")
    twin, number, amount, day, note = parts
    received_on = parse_date(day, today=clock.today(ctx.rt.settings.tz)) if day else None
    try:
        result = receipts.record_receipt(
            ctx.session,
            actor=ctx.actor,
            number=number,
            amount=amount,
            received_on=received_on,
            note=note or None,
            confirm_duplicate=True,
            confirms_twin=int(twin),
        )
    except Conflict as exc:
        return UpdateCardReply(replace_name=cards.truncate_bytes(exc.message, 60))
    event = ctx.event
    task_id = event.task_id if isinstance(event, CardEvent) and event.task_id else "rcdup"
    summary = receipt_text(result)
    card = cards.text_notice(task_id=task_id, title="已确认登记", sub_title=summary)
    return UpdateCardReply(card=card)


def _is_amount(word: str) -> bool:
    try:
        parse_amount(word)
    except BadArguments:
        return False
    return True


@router.command(
    "撤销回款",
    "冲销回款",
    "reverse",
    summary="财务撤销(冲销)一笔登记错的回款,恢复各分期应收",
    usage="撤销回款 <回款编号> <原因>",
    example="撤销回款 RC20261129-1A2B3C 金额录错",
    mutates=True,
)
def reverse_command(ctx: Context) -> Reply:
    parts = split_args(ctx.args, 2)
    if len(parts) < 2 or not parts[1].strip():
        raise BadArguments("请写上回款编号和撤销原因,如:撤销回款 RC20261129-1A2B3C 金额录错")
    result = receipts.reverse_receipt(
        ctx.session, actor=ctx.actor, receipt_number=parts[0].upper(), reason=parts[1]
    )
    return TextReply(reversal_text(result))


@router.command(
    "开票",
    "invoice",
    summary="财务为订单的一个分期开具发票(默认数电普票、合同税率、未开票余额)",
    usage="开票 <订单号> <分期名称> [发票类型] [税号]",
    example="开票 SO-2026-0001 首付款 数电专票 91330100MA2KXXXX0Q",
    mutates=True,
)
def invoice_command(ctx: Context) -> Reply:
    parts = split_args(ctx.args)
    if len(parts) < 2:
        raise BadArguments("请写上订单号和分期名称")
    rest = parts[2:]
    kind = rest.pop(0) if rest and rest[0] in invoices.KIND_ZH.values() else None
    buyer = invoices.Buyer(tax_id=rest[0]) if rest else None
    order, inst, inv = invoices.issue_for_order(
        ctx.session,
        actor=ctx.actor,
        order_number=order_ref(parts[0]),
        installment=parts[1],
        kind=kind,
        buyer=buyer,
    )
    return TextReply(invoice_text(order.number, inst.name, inv))


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
