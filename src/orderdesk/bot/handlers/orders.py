"""查 / order and 我的 / my: read-only order look-ups."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from orderdesk.approvals import service as approvals
from orderdesk.bot.bound import bound_order_number
from orderdesk.bot.parsing import BadArguments
from orderdesk.bot.redaction import View
from orderdesk.bot.render import (
    OrderFacts,
    counts_line,
    not_found,
    order_card,
    order_list,
    order_markdown,
)
from orderdesk.bot.router import Context, router
from orderdesk.core.errors import NotFound
from orderdesk.models import Order, Project
from orderdesk.money import collections
from orderdesk.orders import service as orders
from orderdesk.orders.numbers import normalize_number
from orderdesk.projects import service as projects
from orderdesk.wecom import cards
from orderdesk.wecom.replies import CardReply, MarkdownReply, Reply, TextReply

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from orderdesk.models import Order


def prefetch(session: Session, order: Order) -> None:
    """Load what the card shows about the order in one round trip instead of one lazy load per
    relationship (the card's latency is mostly round trips)."""
    session.execute(
        select(Order)
        .options(
            joinedload(Order.customer),
            joinedload(Order.order_type),
            joinedload(Order.project).joinedload(Project.pm),
        )
        .where(Order.id == order.id)
        # The order is already in the session: without this its relationships stay unloaded.
        .execution_options(populate_existing=True)
    ).unique().all()  # fetching the row is what populates the relationships


def gather(session: Session, order: Order, view: View) -> OrderFacts:
    """Ask each owning service for its part of the card (nothing is computed here)."""
    prefetch(session, order)
    step = approvals.current_step_label(session, order) if view.shows_internal else None
    summary = projects.project_summary(session, order.project) if order.project else None
    money = collections.money_summary(session, order) if view.shows_money(order) else None
    return OrderFacts(order=order, approval_step=step, project=summary, money=money)


def order_reply(ctx: Context, order: Order, view: View) -> Reply:
    facts = gather(ctx.session, order, view)
    if ctx.in_group:
        return MarkdownReply(order_markdown(facts, view))
    task_id = cards.safe_task_id(f"order-{order.id}-{ctx.event.create_time}")
    return CardReply(order_card(ctx.rt.settings, facts, view, task_id=task_id))


@router.command(
    "查",
    "order",
    "查询",
    summary="查订单:号码、客户名或关键词",
    usage="查 <订单号|客户|关键词>(绑定订单的群里可只发「查」)",
    example="查 SO-2026-0001",
)
def order_command(ctx: Context) -> Reply:
    query = ctx.args.strip() or bound_order_number(ctx) or ""
    if not query:
        raise BadArguments("请告诉我要查什么")
    view = ctx.view
    if normalize_number(query):
        try:
            order = orders.get_order(ctx.session, actor=ctx.actor, number=query)
        except NotFound:
            order = None
        if order is not None and view.allows_order(order):
            return order_reply(ctx, order, view)
        matches: list[Order] = []
    else:
        matches = [
            o
            for o in orders.search_orders(ctx.session, actor=ctx.actor, query=query, limit=5)
            if view.allows_order(o)
        ]
    if len(matches) == 1:
        return order_reply(ctx, matches[0], view)
    if matches:
        return TextReply(order_list(matches, view, title=f"找到多个「{query}」相关订单:"))
    # A client group must not learn other customers' names or numbers from suggestions.
    hints = [] if view.is_client else orders.suggest(ctx.session, actor=ctx.actor, query=query)
    return TextReply(not_found(query, hints))


@router.command(
    "我的",
    "my",
    "mine",
    summary="我的未完成订单(负责、项目经理或待我审批)及各状态数量",
    usage="我的",
    example="我的",
    internal_only=True,
)
def my_command(ctx: Context) -> Reply:
    view = ctx.view
    mine = orders.my_orders(ctx.session, actor=ctx.actor)
    counts = orders.order_counts(ctx.session, actor=ctx.actor)
    if not mine:
        return TextReply(f"你目前没有未完成的订单。\n{counts_line(counts)}")
    title = f"我的订单({counts_line(counts)}):"
    return TextReply(order_list(mine[:10], view, title=title))
