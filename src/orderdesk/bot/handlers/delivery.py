"""进度链接 / status-link: a read-only status page for the client (issue 15)."""

from __future__ import annotations

from orderdesk.bot.parsing import BadArguments, order_ref, split_args
from orderdesk.bot.router import Context, router
from orderdesk.delivery import messages, status_links
from orderdesk.wecom.replies import Reply, TextReply


@router.command(
    "进度链接",
    "status-link",
    "statuslink",
    summary="生成客户进度链接(只读、无金额、可撤销、30天有效)",
    usage="进度链接 <订单号> [有效天数]",
    example="进度链接 SO-2026-0001",
    mutates=True,
    internal_only=True,
)
def status_link_command(ctx: Context) -> Reply:
    parts = split_args(ctx.args, 1)
    if not parts:
        raise BadArguments("请写上订单号,例如:进度链接 SO-2026-0001")
    number = order_ref(parts[0])
    days = None
    if len(parts) > 1:
        if not parts[1].strip().isdigit():
            raise BadArguments("有效天数需为整数,例如:进度链接 SO-2026-0001 14")
        days = int(parts[1].strip())
    issued = status_links.create_link(
        ctx.session, actor=ctx.actor, number=number, secret=ctx.rt.settings.secret_key, days=days
    )
    url = status_links.link_url(ctx.rt.settings.public_url, issued.token)
    return TextReply(
        messages.link_reply(issued.link.order.number, url, issued.link, ctx.rt.settings.tz)
    )


@router.command(
    "撤销进度链接",
    "revoke-status-link",
    summary="撤销一个客户进度链接",
    usage="撤销进度链接 <链接编号>",
    example="撤销进度链接 12",
    mutates=True,
    internal_only=True,
)
def revoke_status_link_command(ctx: Context) -> Reply:
    raw = (ctx.args or "").strip().lstrip("#")
    if not raw.isdigit():
        raise BadArguments("请写上链接编号,例如:撤销进度链接 12")
    link = status_links.revoke_link(ctx.session, actor=ctx.actor, link_id=int(raw))
    return TextReply(messages.link_revoked_reply(link))
