"""The group robot of a bot-bound group chat (`群机器人 <Webhook地址或key>`).

The intelligent bot answers in a group but cannot push, and its passive reply cannot carry an
image (WECOM.md). A group robot (消息推送 webhook) added to the same group can send text,
markdown and images, so a bound group registers its robot here and pushes about the bound order,
and charts asked in the group, go through it (`wecom.group_targets`).

Rules:
- the group must be bound first (the binding decides what the group may hear);
- only someone who could re-point the binding (`may_rebind`) may register or remove the robot;
- the key must look like what WeCom issues (a UUID); a full webhook URL of qyapi is accepted;
- a robot registered in another active group is refused: its key posts into its own group, so
  registering it here would send this group's notices there;
- the key is a credential: it is never echoed, logged or put on the timeline; only masked.
Registering queues one short greeting through the robot, so the people of the group the robot
really lives in see at once where OrderDesk will post.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from orderdesk.core.errors import Conflict, PermissionDenied, ValidationFailed
from orderdesk.models import ChatBinding, OutboxMessage, Staff
from orderdesk.orders import timeline
from orderdesk.orders.bindings import binding_order, group_binding, may_rebind
from orderdesk.wecom import cards, outbox
from orderdesk.wecom.group_targets import mask_robot_key as mask_key

WEBHOOK_HOST = "qyapi.weixin.qq.com"
WEBHOOK_PATH = "/cgi-bin/webhook/send"
# What WeCom issues: a UUID in lowercase hex. Matched whole (fullmatch: `$` would let a trailing
# newline through); upper case is accepted and lowered, so one robot is one key.
_KEY = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

NOT_BOUND = "本群还没有绑定订单或客户:请先发送「绑定 <订单号|客户名称>」,再登记群机器人"
NOT_ALLOWED = (
    "只有绑定订单的负责人、其经理、总经理或管理员可以设置本群的群机器人"
    "(只绑定了客户的群:客户负责人、其经理或当初绑定的人)"
)
BAD_KEY = (
    "群机器人的 Webhook 地址不对:请在群设置 → 群机器人中复制完整地址"
    "(https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…),或只写其中的 key"
    "(形如 xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"
)
TAKEN = "这个群机器人已登记在另一个群;请添加并使用本群自己的群机器人"
NO_ROBOT = "本群还没有登记群机器人"
GREETING = "✅ OrderDesk 已接入本群的群机器人({who} 登记):之后本群的通知和图表由它发到这里。"
REMOVED_ERROR = "群机器人已删除 / group robot removed"


def parse_robot_key(raw: str) -> str:
    """The key of a webhook URL or a bare key; ValidationFailed (never echoing the input: it may
    be a credential) when it is neither."""
    text = raw.strip().strip("<>\"'")
    if "://" in text:
        parts = urlsplit(text)
        if (parts.scheme, parts.hostname, parts.path) != ("https", WEBHOOK_HOST, WEBHOOK_PATH):
            raise ValidationFailed(BAD_KEY)
        keys = parse_qs(parts.query).get("key") or [""]
        text = keys[0]
    key = text.lower()
    if not _KEY.fullmatch(key):
        raise ValidationFailed(BAD_KEY)
    return key


def _allowed_binding(session: Session, actor: Staff, chat_id: str) -> ChatBinding:
    binding = group_binding(session, chat_id)
    if binding is None:
        raise ValidationFailed(NOT_BOUND)
    if not may_rebind(session, actor, binding):
        raise PermissionDenied(NOT_ALLOWED)
    return binding


def _record(
    session: Session, actor: Staff, binding: ChatBinding, body: str, **data: object
) -> None:
    timeline.record(
        session,
        kind="binding",
        actor=actor,
        body=body,
        order=binding_order(session, binding),
        customer_id=binding.customer_id,
        data={"chat_id": binding.chat_id, **data},
    )


def set_group_robot(
    session: Session, *, actor: Staff, chat_id: str, raw: str
) -> tuple[ChatBinding, bool]:
    """Register the robot of bound group `chat_id`. Returns the binding and whether anything
    changed (the same key again changes nothing and greets no one twice)."""
    binding = _allowed_binding(session, actor, chat_id)
    key = parse_robot_key(raw)
    if binding.robot_key == key:
        return binding, False
    elsewhere = session.scalar(
        select(ChatBinding.id).where(
            ChatBinding.robot_key == key,
            ChatBinding.id != binding.id,
            ChatBinding.active.is_(True),
        )
    )
    if elsewhere is not None:
        raise Conflict(TAKEN)
    binding.robot_key = key
    masked = mask_key(key)
    _record(session, actor, binding, f"{actor.name} 登记了本群的群机器人({masked})", robot=masked)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    outbox.add(
        session,
        key=f"robot-hello:{binding.id}:{digest}",
        channel="webhook",
        recipient=key,
        payload=cards.webhook_text(GREETING.format(who=actor.name)),
    )
    return binding, True


def remove_group_robot(session: Session, *, actor: Staff, chat_id: str) -> str:
    """Forget the robot of bound group `chat_id`; returns the masked key. What was still waiting
    to go through it is dropped: the people who removed it want it silent."""
    binding = _allowed_binding(session, actor, chat_id)
    key = binding.robot_key
    if not key:
        raise ValidationFailed(NO_ROBOT)
    binding.robot_key = None
    masked = mask_key(key)
    _record(
        session,
        actor,
        binding,
        f"{actor.name} 删除了本群的群机器人({masked})",
        robot=masked,
        removed=True,
    )
    _drop_pending(session, key)
    return masked


def _drop_pending(session: Session, key: str) -> None:
    shared = session.scalar(
        select(ChatBinding.id).where(
            ChatBinding.kind == "webhook", ChatBinding.chat_id == key, ChatBinding.active.is_(True)
        )
    )
    if shared is not None:
        return  # the same robot is also bound on its own: its messages still go
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.channel == "webhook",
            OutboxMessage.recipient == key,
            OutboxMessage.status == "pending",
        )
        .values(status="dead", last_error=REMOVED_ERROR)
        .execution_options(synchronize_session=False)
    )


def robot_of(session: Session, chat_id: str | None) -> str | None:
    """The robot key through which an internal bound group can receive images, or None (no
    binding, a client group, or no robot registered)."""
    binding = group_binding(session, chat_id)
    if binding is None or binding.audience != "internal":
        return None
    return binding.robot_key or None
