"""绑定 / bind, 解绑 / unbind and 群机器人 / robot / webhook: point a group chat at an order or a
customer, and register the group robot through which pushes and charts reach the group.

The intelligent bot that reads group commands can only answer; it cannot push (WECOM.md). So a
bound group hears about its order only through its own group robot: `群机器人 <Webhook地址或key>`
registers it (the group must be bound first; only someone who could re-point the binding may),
`群机器人 删除` forgets it, `群机器人` alone says whether one is registered. The key is shown
masked, never whole."""

from __future__ import annotations

from orderdesk.bot.parsing import BadArguments
from orderdesk.bot.router import Context, router
from orderdesk.orders.bindings import AUDIENCE_ZH, bind_chat, group_binding, unbind_chat
from orderdesk.orders.robots import (
    NO_ROBOT,
    NOT_BOUND,
    mask_key,
    remove_group_robot,
    set_group_robot,
)
from orderdesk.wecom.replies import Reply, TextReply

CLIENT_FLAGS = {"客户群", "客户", "client", "external"}
REMOVE_WORDS = {"删除", "移除", "清除", "remove", "delete", "off"}
ROBOT_HOWTO = (
    "在群设置 → 群机器人中添加一个机器人,复制它的 Webhook 地址,再发送「群机器人 <Webhook地址>」"
)
PUSH_VIA_ROBOT = ",相关通知会经本群的群机器人推送到这里"
PUSH_NEEDS_ROBOT = "。要在本群收到通知和图表,还需要登记本群的群机器人:" + ROBOT_HOWTO
CLIENT_NO_PUSH = "。客户群只能在这里查询,OrderDesk 不会向客户群推送通知"


@router.command(
    "绑定",
    "bind",
    summary="在群里绑定订单或客户;登记群机器人后,相关通知推送到本群",
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
    # Truthful: without a robot nothing can be pushed into a bot group, and a client group
    # cannot register one (群机器人 changes data: refused there).
    if binding.robot_key:
        tail = PUSH_VIA_ROBOT
    else:
        tail = PUSH_NEEDS_ROBOT if audience == "internal" else CLIENT_NO_PUSH
    return TextReply(f"本群已绑定 {target}({AUDIENCE_ZH[audience]}){tail}")


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


@router.command(
    "群机器人",
    "robot",
    "webhook",
    summary="登记本群的群机器人(Webhook),通知和图表经它发到本群;「群机器人 删除」取消",
    usage="群机器人 <Webhook地址或key> | 群机器人 删除",
    example="群机器人 https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…",
    mutates=True,
    group_only=True,
)
def robot_command(ctx: Context) -> Reply:
    chat_id = ctx.chat_id or ""
    arg = ctx.args.strip()
    if not arg:
        return TextReply(_robot_status(ctx, chat_id))
    if arg.lower() in REMOVE_WORDS:
        masked = remove_group_robot(ctx.session, actor=ctx.actor, chat_id=chat_id)
        return TextReply(f"已删除本群的群机器人({masked}),本群将不再收到推送通知和图表")
    binding, changed = set_group_robot(ctx.session, actor=ctx.actor, chat_id=chat_id, raw=arg)
    masked = mask_key(binding.robot_key or "")
    if not changed:
        return TextReply(f"本群已登记这个群机器人({masked}),无需重复登记")
    return TextReply(
        f"已登记本群的群机器人({masked}):相关通知和在本群查询的图表会经它发到这里。"
        "它马上会在群里发一条确认消息;若没有出现,请检查 Webhook 地址是否属于本群。"
    )


def _robot_status(ctx: Context, chat_id: str) -> str:
    binding = group_binding(ctx.session, chat_id)
    if binding is None:
        return NOT_BOUND
    if binding.robot_key:
        return f"本群的群机器人:{mask_key(binding.robot_key)}(删除:群机器人 删除)"
    return f"{NO_ROBOT}。{ROBOT_HOWTO}"
