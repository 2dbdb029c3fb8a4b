"""账龄 / aging, 报表 / report, 回款率 / collection, 项目利润 / profit and 利用率 / utilisation
(issue 13): a short text summary at once, and the chart as an image message a moment later.

Figures are scoped like every figure (sales own, managers their team, finance / gm all).
Internal: refused in client groups. Rendering a chart takes longer than a callback may wait,
so the handler only answers the text and, once its transaction has committed, enqueues
`jobs.reports.send_report_chart`, which renders the PNG and queues it in the outbox.

Where the image goes: the intelligent bot that answers in a group can neither push nor put an
image in its reply. So, asked in an internal bound group that registered its group robot
(`群机器人`), the chart goes to the group through that robot (image inline); otherwise it goes
to the person who asked, 1:1 (delivery uploads it through `media/upload`). The job checks the
group again when it sends (a group re-bound as a client group in between gets nothing: the
chart then goes 1:1). The text reply says which."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from orderdesk.bot.parsing import BadArguments, order_ref
from orderdesk.bot.router import Context, router
from orderdesk.core import clock
from orderdesk.orders.robots import robot_of
from orderdesk.reports.messages import (
    aging_text,
    collection_text,
    profitability_text,
    revenue_text,
    utilisation_text,
)
from orderdesk.reports.service import last_month, run_report
from orderdesk.reports.table import Table
from orderdesk.wecom.replies import MarkdownReply, Reply

CHART_JOB = "orderdesk.jobs.reports.send_report_chart"
CHART_TO_ASKER = "\n\n📊 图表稍后以图片消息私信发给你"  # asked in a group without a robot
CHART_TO_YOU = "\n\n📊 图表稍后以图片消息发给你"  # asked 1:1
CHART_TO_GROUP = "\n\n📊 图表稍后发到本群"
_MONTH_ONLY = re.compile(r"^(\d{1,2})月?$")


def chart_later(ctx: Context, table: Table, *, to_group: bool, **params: Any) -> None:
    """Enqueue the chart job once the handler's transaction has committed (never before). The
    job gets the group's chat id, never the robot key (a credential has no place in Redis); it
    looks the robot up again when it sends."""
    key = f"chart:{ctx.event.dedupe_key}"[:200]
    kwargs = {"userid": ctx.actor.userid, "name": table.name, "key": key, **params}
    if to_group:
        kwargs["chat_id"] = ctx.chat_id
    rt = ctx.rt

    def enqueue(_session: Session) -> None:
        rt.queue.enqueue(CHART_JOB, queue="default", quiet=True, **kwargs)

    event.listen(ctx.session, "after_commit", enqueue, once=True)


def _to_group(ctx: Context) -> bool:
    """The chart may go to this group: an internal group with its robot registered."""
    return (
        ctx.in_group
        and ctx.audience == "internal"
        and robot_of(ctx.session, ctx.chat_id) is not None
    )


def _answer(ctx: Context, text: str, table: Table, **params: Any) -> Reply:
    if not table.rows:
        return MarkdownReply(text)
    to_group = _to_group(ctx)
    chart_later(ctx, table, to_group=to_group, **params)
    if to_group:
        return MarkdownReply(text + CHART_TO_GROUP)
    return MarkdownReply(text + (CHART_TO_ASKER if ctx.in_group else CHART_TO_YOU))


def period_of(ctx: Context, raw: str) -> str:
    """本月 / 上月 / 11月 / 2026-11 / 2026Q4 / 2026 -> the period text of the reports."""
    today = clock.today(ctx.rt.settings.tz)
    text = raw.strip().upper() or "本月"
    if text in ("本月", "THIS"):
        return today.strftime("%Y-%m")
    if text in ("上月", "LAST"):
        return last_month(today)
    if m := _MONTH_ONLY.match(text):
        month = int(m[1])
        if not 1 <= month <= 12:
            raise BadArguments(f"没有 {month} 月")
        # A month after the current one means last year's (in January, "12月" is December).
        year = today.year if month <= today.month else today.year - 1
        return f"{year}-{month:02d}"
    return text


@router.command(
    "账龄",
    "aging",
    summary="应收账龄:未到期、1-30、31-60、61-90、91-180、180天以上(附图表)",
    usage="账龄 [客户|负责人|业务线]",
    example="账龄 业务线",
    internal_only=True,
)
def aging_command(ctx: Context) -> Reply:
    by = {"": "customer", "客户": "customer", "负责人": "owner", "业务线": "business_line"}
    key = ctx.args.strip()
    if key not in by:
        raise BadArguments("账龄可按 客户、负责人 或 业务线 汇总")
    table = run_report(ctx.session, actor=ctx.actor, name="ar-aging", group_by=by[key])
    return _answer(ctx, aging_text(table), table, group_by=by[key])


@router.command(
    "报表",
    "report",
    summary="签约、开票、回款与回款率(本月、上月、11月、2026-11、2026Q4、2026;附图表)",
    usage="报表 [本月|上月|11月|2026-11|2026Q4|2026]",
    example="报表 本月",
    internal_only=True,
)
def revenue_command(ctx: Context) -> Reply:
    period = period_of(ctx, ctx.args)
    table = run_report(ctx.session, actor=ctx.actor, name="revenue", period=period)
    return _answer(ctx, revenue_text(table), table, period=period)


@router.command(
    "回款率",
    "collection",
    summary="回款率与 DSO(按月;本月、上月、2026Q4 …;附图表)",
    usage="回款率 [本月|上月|11月|2026-11|2026Q4|2026]",
    example="回款率 2026Q4",
    internal_only=True,
)
def collection_command(ctx: Context) -> Reply:
    period = period_of(ctx, ctx.args)
    revenue = run_report(ctx.session, actor=ctx.actor, name="revenue", period=period)
    table = run_report(ctx.session, actor=ctx.actor, name="collection", period=period)
    text = revenue_text(revenue) + "\n" + collection_text(table)
    return _answer(ctx, text, table, period=period)


@router.command(
    "项目利润",
    "profit",
    summary="项目利润:合同额(不含税)− 人工成本 − 项目费用 = 毛利(附图表)",
    usage="项目利润 [项目编号|订单号](不写则列出可见的全部项目)",
    example="项目利润 PRJ-2026-0001",
    internal_only=True,
)
def profit_command(ctx: Context) -> Reply:
    ref = order_ref(ctx.args) if ctx.args.strip() else None  # so-2026-1 -> SO-2026-0001
    table = run_report(ctx.session, actor=ctx.actor, name="profitability", project=ref)
    if ref and not table.rows:
        raise BadArguments(f"找不到项目或订单 {ref}(或你无权查看它的金额)")
    return _answer(ctx, profitability_text(table), table, project=ref)


@router.command(
    "利用率",
    "utilisation",
    "utilization",
    summary="工时利用率:已登记 ÷ 可用工时(按人;本月、上月、11月、2026-11;附图表)",
    usage="利用率 [本月|上月|11月|2026-11] [部门]",
    example="利用率 11月",
    internal_only=True,
)
def utilisation_command(ctx: Context) -> Reply:
    words = ctx.args.split()
    by = "person"
    if words and words[-1] in ("部门", "department"):
        by, words = "department", words[:-1]
    period = period_of(ctx, " ".join(words))
    table = run_report(ctx.session, actor=ctx.actor, name="utilisation", period=period, group_by=by)
    return _answer(ctx, utilisation_text(table), table, period=period, group_by=by)
