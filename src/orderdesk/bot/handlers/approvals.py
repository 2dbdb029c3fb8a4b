"""待审批 / pending, 批准 / approve, 驳回 / reject, and the approval card buttons.

Typed commands and card clicks decide through the same `approvals.service.decide`. A late or
repeated click never decides twice: the service raises AlreadyDecided and the clicked card is
turned into the current state ("已由 X 于 HH:MM 审批").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orderdesk.approvals import messages as notify
from orderdesk.approvals import service as approvals
from orderdesk.approvals.decisions import already_decided_error, visible_request
from orderdesk.bot.parsing import BadArguments, order_ref, split_args
from orderdesk.bot.render import (
    REJECT_REASON_KEY,
    money,
    pending_line,
    reason_text,
    reject_reason_card,
)
from orderdesk.bot.router import Context, router
from orderdesk.core.errors import AlreadyDecided, NotFound
from orderdesk.wecom import cards, outbox
from orderdesk.wecom.events import CardEvent
from orderdesk.wecom.replies import CardReply, Reply, TextReply, UpdateCardReply

if TYPE_CHECKING:
    from orderdesk.models import ApprovalAssignment

MAX_PENDING_CARDS = 6  # buttons on the pending list card (WeCom's limit on one card)
OPEN_PREFIX = "openappr:"


def _card_for(ctx: Context, assignment: ApprovalAssignment) -> dict[str, Any]:
    request = assignment.request
    card = notify.approval_card_body(ctx.rt.settings, request.order, request, assignment)
    # A task_id may be used once per app: a re-sent card gets its own.
    card["task_id"] = cards.safe_task_id(f"appr-{assignment.id}-p{ctx.event.create_time}")
    return card


@router.command(
    "待审批",
    "pending",
    "审批",
    summary="我的待审批:一张列表卡片(最新在前),点按钮打开那一条的审批卡片",
    usage="待审批",
    example="待审批",
    internal_only=True,
)
def pending_command(ctx: Context) -> Reply:
    # Newest first: what just arrived is what the approver is being asked about.
    items = list(reversed(approvals.pending_for(ctx.session, actor=ctx.actor)))
    if not items:
        return TextReply("没有等你审批的订单 👍")
    if len(items) == 1 and not ctx.in_group:
        return CardReply(_card_for(ctx, items[0]))
    lines = [_pending_line(ctx, a) for a in items]
    if ctx.in_group:
        tail = "请在与 OrderDesk 的单聊中发送「待审批」逐条处理"
        return TextReply("\n".join([f"你有 {len(items)} 条待审批:", *lines, tail]))
    return CardReply(_pending_list_card(ctx, items, lines))


def _number(assignment: ApprovalAssignment) -> str:
    """The order's number, or the change request's (`SO-…-C1`) when that is what waits."""
    request = assignment.request
    change = request.change_request
    return change.number if request.kind == "change" and change else request.order.number


def _pending_line(ctx: Context, assignment: ApprovalAssignment) -> str:
    order = assignment.request.order
    amount = money(order.amount) if ctx.view.shows_money(order) else None
    return pending_line(_number(assignment), order.customer.name, None, amount)


def _pending_list_card(
    ctx: Context, items: list[ApprovalAssignment], lines: list[str]
) -> dict[str, Any]:
    """ONE card listing what waits (instead of a card each): a button per item, newest first,
    opens that approval's own card; beyond six buttons the rest are decided by command."""
    shown = items[:MAX_PENDING_CARDS]
    more = len(items) - len(shown)
    hint = f"另有 {more} 条,可回复:批准 订单号" if more else "点下面的按钮打开审批卡片"
    return cards.button_interaction(
        task_id=cards.safe_task_id(f"pending-{ctx.actor.id}-{ctx.event.create_time}"),
        title=f"待审批 {len(items)} 条",
        sub_title="\n".join([*lines, hint]),
        buttons=[(_number(a), f"{OPEN_PREFIX}{a.id}") for a in shown],
    )


@router.action(OPEN_PREFIX)
def open_pending_click(ctx: Context) -> Reply:
    """A button of the pending list: send that approval's own card (if it still waits for the
    clicker; anything else reads like a card that no longer exists)."""
    waiting = {a.id: a for a in approvals.pending_for(ctx.session, actor=ctx.actor)}
    assignment = waiting.get(int(ctx.args)) if ctx.args.isdigit() else None
    if assignment is None:
        return TextReply("这条审批已处理或不存在,发送「待审批」查看最新列表")
    outbox.add(
        ctx.session,
        key=f"pending-card:{assignment.id}:{ctx.event.create_time}",
        channel="app_message",
        recipient=ctx.actor.userid,
        payload=cards.app_template_card(_card_for(ctx, assignment)),
        order_id=assignment.request.order_id,
    )
    return TextReply(f"已发送 {assignment.request.order.number} 的审批卡片")


@router.command(
    "批准",
    "approve",
    "同意",
    summary="同意我这一步的审批",
    usage="批准 <订单号> [意见]",
    example="批准 SO-2026-0001 价格合理",
    mutates=True,
)
def approve_command(ctx: Context) -> Reply:
    parts = split_args(ctx.args, 1)
    if not parts:
        raise BadArguments("请写上订单号")
    number = order_ref(parts[0])
    comment = parts[1] if len(parts) > 1 else None
    result = approvals.decide(
        ctx.session, actor=ctx.actor, number=number, decision="approve", comment=comment
    )
    return TextReply(result.message)


@router.command(
    "驳回",
    "reject",
    summary="驳回审批,必须写原因",
    usage="驳回 <订单号> <原因>",
    example="驳回 SO-2026-0001 折扣超出权限",
    mutates=True,
)
def reject_command(ctx: Context) -> Reply:
    parts = split_args(ctx.args, 1)
    if not parts:
        raise BadArguments("请写上订单号和驳回原因")
    if len(parts) < 2:
        raise BadArguments("驳回必须写明原因")
    number = order_ref(parts[0])
    result = approvals.decide(
        ctx.session, actor=ctx.actor, number=number, decision="reject", comment=parts[1]
    )
    return TextReply(result.message)


# -- card buttons ------------------------------------------------------------------------------


def _request_id(ctx: Context) -> int:
    try:
        return int(ctx.args)
    except ValueError as exc:
        raise NotFound("这张卡片已失效") from exc


def _click_decide(ctx: Context, decision: str, comment: str | None = None) -> Reply:
    try:
        result = approvals.decide(
            ctx.session,
            actor=ctx.actor,
            request_id=_request_id(ctx),
            decision=decision,
            comment=comment,
        )
    except AlreadyDecided as exc:
        return UpdateCardReply(replace_name=exc.message, for_everyone=True)
    # Decided for everyone: in a bot group every member's copy of the card shows it.
    return UpdateCardReply(replace_name=result.replace_name, for_everyone=True)


@router.action("approve:")
def approve_click(ctx: Context) -> Reply:
    return _click_decide(ctx, "approve")


@router.action("reject:")
def reject_click(ctx: Context) -> Reply:
    """Ask for the reason first: the card becomes a pick-a-reason card (or reply in words)."""
    # Someone else's request reads like a card that no longer exists: no order, no names.
    request = visible_request(ctx.session, actor=ctx.actor, request_id=_request_id(ctx))
    if request is None:
        raise NotFound("这张卡片已失效")
    if request.status != "pending":
        message = already_decided_error(ctx.session, request).message
        return UpdateCardReply(replace_name=message, for_everyone=True)
    event = ctx.event
    task_id = event.task_id if isinstance(event, CardEvent) and event.task_id else "reject"
    card = reject_reason_card(request.id, request.order.number, task_id=task_id)
    return UpdateCardReply(card=card)


@router.action("rejectwhy:")
def reject_reason_click(ctx: Context) -> Reply:
    event = ctx.event
    picked = event.selected_items.get(REJECT_REASON_KEY, []) if isinstance(event, CardEvent) else []
    reason = next((r for r in map(reason_text, picked) if r), None)
    if reason is None:
        return TextReply("请先选择一个驳回原因,或回复:驳回 订单号 原因")
    return _click_decide(ctx, "reject", reason)
