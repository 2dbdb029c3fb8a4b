"""账龄 / aging, 报表 / report and 回款率 / collection (issue 13): text summaries of the reports,
scoped like every figure (sales own, managers their team, finance / gm all). Internal: refused in
client groups. The chart image (WeCom media upload) is not sent yet."""

from __future__ import annotations

from datetime import timedelta

from orderdesk.bot.parsing import BadArguments
from orderdesk.bot.router import Context, router
from orderdesk.core import clock
from orderdesk.reports.messages import aging_text, revenue_text
from orderdesk.reports.service import run_report
from orderdesk.wecom.replies import MarkdownReply, Reply


@router.command(
    "账龄",
    "aging",
    summary="应收账龄:未到期、1-30、31-60、61-90、91-180、180天以上",
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
    return MarkdownReply(aging_text(table))


@router.command(
    "报表",
    "回款率",
    "report",
    summary="签约、开票、回款与回款率(本月、上月、2026-11、2026Q4、2026)",
    usage="报表 [本月|上月|2026-11|2026Q4|2026]",
    example="回款率 2026Q4",
    internal_only=True,
)
def revenue_command(ctx: Context) -> Reply:
    today = clock.today(ctx.rt.settings.tz)
    period = ctx.args.strip().upper() or "本月"
    if period == "本月":
        period = today.strftime("%Y-%m")
    elif period == "上月":
        period = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    table = run_report(ctx.session, actor=ctx.actor, name="revenue", period=period)
    return MarkdownReply(revenue_text(table))
