"""The chat simulator's plumbing: send a signed callback through the real endpoints, read the
passive reply, and list what the outbox pushed to a person or a group.

Sandbox only (the views check). Nothing here decides anything: the bot does, behind
/wecom/callback and /wecom/bot, exactly as for `orderdesk chat` / `orderdesk click`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from defusedxml.ElementTree import fromstring
from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from orderdesk.models import ChatBinding, OutboxMessage, Staff
from orderdesk.settings import Settings
from orderdesk.wecom import signing

FEED = 30
# What the simulator can show of each outbox channel (the others reach no chat window).
CHAT_CHANNELS = ("app_message", "appchat", "bot_response", "card_update")


@dataclass
class Bubble:
    """One message as the chat window shows it: a WeCom payload (msgtype + body)."""

    who: str  # "me", "app" or "bot"
    payload: dict[str, Any]
    status: str = ""
    at: str = ""


def send(settings: Settings, req: signing.SignedRequest) -> Bubble | None:
    """POST the signed callback to our own endpoint; the decrypted passive reply, if any."""
    res = current_app.test_client().post(req.url, data=req.body, content_type=req.content_type)
    if res.status_code != 200:
        return Bubble("app", {"msgtype": "text", "text": {"content": f"HTTP {res.status_code}"}})
    plain = signing.open_reply(settings, req.channel, res.get_data(as_text=True))
    if plain is None:
        return None
    return Bubble("app" if req.channel == "app" else "bot", reply_payload(req.channel, plain))


def reply_payload(channel: str, plain: str) -> dict[str, Any]:
    """A passive reply (app XML or bot JSON) in the outbox payload's shape, for one renderer."""
    if channel != "app":
        data: dict[str, Any] = json.loads(plain)
        if data.get("msgtype") == "stream":
            return {"msgtype": "markdown", "markdown": {"content": data["stream"].get("content")}}
        return data
    root = fromstring(plain)
    kind = root.findtext("MsgType") or "text"
    if kind == "markdown":
        return {"msgtype": "markdown", "markdown": {"content": root.findtext("Markdown/Content")}}
    if kind == "update_button":
        name = root.findtext("Button/ReplaceName") or ""
        return {"msgtype": "text", "text": {"content": f"[按钮已更新为「{name}」]"}}
    return {"msgtype": "text", "text": {"content": root.findtext("Content") or ""}}


def groups(session: Session) -> list[ChatBinding]:
    """Groups the bot is in (where @-mentions work), by name."""
    rows = session.scalars(
        select(ChatBinding).where(ChatBinding.kind == "bot_group").order_by(ChatBinding.name)
    )
    return list(rows)


def people(session: Session) -> list[Staff]:
    return list(session.scalars(select(Staff).where(Staff.active.is_(True)).order_by(Staff.userid)))


def feed(session: Session, *, userid: str, chat_id: str | None) -> list[Bubble]:
    """What the outbox brought to this 1:1 chat (userid) or this group (chat_id), oldest first."""
    query = select(OutboxMessage)
    if chat_id:
        here = OutboxMessage.channel.in_(CHAT_CHANNELS) & (OutboxMessage.recipient == chat_id)
        robot = session.scalar(
            select(ChatBinding.robot_key).where(
                ChatBinding.kind == "bot_group", ChatBinding.chat_id == chat_id
            )
        )
        if robot:  # what the group's robot (群机器人) posted there
            here = here | (
                (OutboxMessage.channel == "webhook") & (OutboxMessage.recipient == robot)
            )
        query = query.where(here)
    else:
        query = query.where(
            OutboxMessage.channel == "app_message",
            or_(
                OutboxMessage.recipient == userid,
                OutboxMessage.recipient.like(f"{userid}|%"),
                OutboxMessage.recipient.like(f"%|{userid}"),
                OutboxMessage.recipient.like(f"%|{userid}|%"),
            ),
        )
    rows = list(session.scalars(query.order_by(OutboxMessage.id.desc()).limit(FEED)))
    return [
        Bubble("app", dict(r.payload or {}), r.status, r.created_at.isoformat(timespec="seconds"))
        for r in reversed(rows)
    ]
