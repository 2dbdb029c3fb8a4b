"""交付物 / deliverables: a project's deliverables with their current versions (issue 15)."""

from __future__ import annotations

from orderdesk.bot.bound import bound_order_number
from orderdesk.bot.parsing import BadArguments, order_ref, split_args
from orderdesk.bot.router import Context, router
from orderdesk.delivery import deliverables, messages
from orderdesk.wecom.replies import Reply, TextReply


@router.command(
    "交付物",
    "deliverables",
    "deliverable",
    summary="查看项目的交付物及当前版本",
    usage="交付物 <订单号或项目编号>(绑定群内可省略)",
    example="交付物 SO-2026-0001",
    internal_only=True,
)
def deliverables_command(ctx: Context) -> Reply:
    parts = split_args(ctx.args, 1)
    ref = order_ref(parts[0]) if parts else bound_order_number(ctx)
    if not ref:
        raise BadArguments("请写上订单号,例如:交付物 SO-2026-0001")
    project = deliverables.project_of(ctx.session, actor=ctx.actor, ref=ref)
    items = deliverables.list_deliverables(ctx.session, actor=ctx.actor, ref=project.code)
    return TextReply(messages.deliverables_text(project, items, ctx.rt.settings.tz))
