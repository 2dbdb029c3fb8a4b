"""绑定 / bind and 解绑 / unbind: point a group chat at an order or a customer for pushes."""

from __future__ import annotations

from orderdesk.bot.parsing import BadArguments
from orderdesk.bot.router import Context, router
from orderdesk.orders.bindings import AUDIENCE_ZH, bind_chat, unbind_chat
from orderdesk.wecom.replies import Reply, TextReply

CLIENT_FLAGS = {"客户群", "客户", "client", "external"}


@router.command(
    "绑定",
    "bind",
    summary="在群里绑定订单或客户,之后相关通知推送到本群",
    usage="绑定 <订单号|客户名称> [客户群]",
    example="绑定 SO-2026-0001",
    mutates=True,
    group_only=True,
)
def bind_command(ctx: Context) -> Reply:
    words = ctx.args.split()
    audience = "internal"
    if len(words) > 1 and words[-1].lower() in CLIENT_FLAGS:
        audience = "client"
        words = words[:-1]
    ref = " ".join(words)
    if not ref:
        raise BadArguments("请写上订单号或客户名称")
    binding = bind_chat(
        ctx.session, actor=ctx.actor, chat_id=ctx.chat_id or "", ref=ref, audience=audience
    )
    target = ref.upper() if binding.order_id else ref
    return TextReply(f"本群已绑定 {target}({AUDIENCE_ZH[audience]}),相关通知会推送到这里")


# Unbinding is allowed in a client group on purpose: it is how staff take a group out of pushes
# (customers cannot use it: they are not OrderDesk staff).
@router.command(
    "解绑",
    "unbind",
    summary="解除本群的绑定,不再推送",
    usage="解绑",
    example="解绑",
    group_only=True,
)
def unbind_command(ctx: Context) -> Reply:
    unbind_chat(ctx.session, actor=ctx.actor, chat_id=ctx.chat_id or "")
    return TextReply("本群已解除绑定,不再推送通知")
