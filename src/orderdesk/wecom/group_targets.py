"""Where a push to a bound group chat goes: which outbox channel and recipient, if any.

Three kinds of binding can reach a group without a user message:
- `appchat`: the app's own group chat (`appchat/send`, recipient the chatid);
- `webhook`: a group robot bound on its own (`webhook/send`, recipient the key);
- `bot_group` with a registered group robot (`群机器人`): the intelligent bot cannot push and its
  passive reply cannot carry an image, so the group's own robot carries the message
  (`webhook/send`, recipient the robot key).
A bot_group binding without a robot cannot be pushed to at all. Every domain that pushes to
groups asks here, so the rule lives once (the domains are siblings and cannot import each other).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, or_

from orderdesk.models.wecom import ChatBinding

BOT_GROUP = "bot_group"
_OWN_CHANNEL = {"appchat": "appchat", "webhook": "webhook"}


def mask_robot_key(key: str) -> str:
    """What people, the timeline and the CLI see of a robot key (a credential): its last four
    characters."""
    return f"****{key[-4:]}"


def shown_recipient(channel: str, recipient: str) -> str:
    """An outbox recipient fit to print: a webhook's is the robot's key, so it is masked."""
    return mask_robot_key(recipient) if channel == "webhook" else recipient


def push_target(binding: ChatBinding) -> tuple[str, str] | None:
    """(outbox channel, recipient) of a push to this group, or None when it cannot get one."""
    channel = _OWN_CHANNEL.get(binding.kind)
    if channel is not None:
        return channel, binding.chat_id
    if binding.kind == BOT_GROUP and binding.robot_key:
        return "webhook", binding.robot_key
    return None


def pushable() -> ColumnElement[bool]:
    """The SQL form of `push_target(...) is not None`, for queries of bindings."""
    return or_(
        ChatBinding.kind.in_(tuple(_OWN_CHANNEL)),
        and_(ChatBinding.kind == BOT_GROUP, ChatBinding.robot_key.is_not(None)),
    )
