"""Turn a handler's `Reply` into what WeCom receives.

- In time: a passive reply, plaintext first (`render`), then sealed into the encrypted envelope of
  the channel (`seal_app`: XML per D:90241; `seal_bot`: JSON per D:101031).
- Past the deadline, or for a reply the channel cannot carry passively (a new template card on the
  app callback): outbox messages (`late_messages` / `Rendered.followups`) delivered by the worker
  through `message/send`, `message/update_template_card` or the bot's `response_url`.

Pure functions: no database, no network.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from orderdesk.wecom import cards
from orderdesk.wecom.crypto import CallbackCrypto
from orderdesk.wecom.events import CardEvent, EnterEvent, Event, TextMessage
from orderdesk.wecom.replies import CardReply, MarkdownReply, Reply, TextReply, UpdateCardReply

log = logging.getLogger(__name__)

PROCESSING_TEXT = "⏳ 处理中,结果稍后发送给你"
STREAM_MAX = 20480  # bytes of a bot stream's markdown content


@dataclass(frozen=True)
class OutboxItem:
    """An outbox row to add (`wecom.outbox.add`) for a reply that cannot go passively."""

    key: str
    channel: str
    recipient: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Rendered:
    body: str  # plaintext passive reply; "" means "no passive reply"
    followups: list[OutboxItem] = field(default_factory=list)


# -- XML helpers ---------------------------------------------------------------------------------

# Field names whose XML form is not the plain CamelCase of the JSON key.
_XML_NAMES = {
    "keyname": "KeyName",
    "userid": "UserId",
    "appid": "AppId",
    "pagepath": "PagePath",
    "checkbox": "CheckBox",
}


def cdata(text: str) -> str:
    # "]]>" cannot appear inside CDATA: split it across two sections.
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def xml_name(key: str) -> str:
    """JSON card field -> the XML element name of the passive reply (button_list -> ButtonList)."""
    return _XML_NAMES.get(key) or "".join(part[:1].upper() + part[1:] for part in key.split("_"))


def _xml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, Mapping):
        return card_xml(value)
    return cdata(str(value))


def card_xml(card: Mapping[str, Any]) -> str:
    """A template card dict as the XML of `update_template_card` (lists repeat their element)."""
    out: list[str] = []
    for key, value in card.items():
        if value is None:
            continue
        name = xml_name(key)
        items = value if isinstance(value, list) else [value]
        for item in items:
            out.append(f"<{name}>{_xml_value(item)}</{name}>")
    return "".join(out)


def _app_xml(event: Event, corp_id: str, msg_type: str, inner: str, now: int) -> str:
    return (
        f"<xml><ToUserName>{cdata(event.user_id)}</ToUserName>"
        f"<FromUserName>{cdata(corp_id)}</FromUserName>"
        f"<CreateTime>{now}</CreateTime><MsgType>{cdata(msg_type)}</MsgType>{inner}</xml>"
    )


# -- rendering -----------------------------------------------------------------------------------


def reply_key(event: Event) -> str:
    return f"reply:{event.dedupe_key}"


def stream_id(event: Event) -> str:
    return "od" + hashlib.sha1(event.dedupe_key.encode()).hexdigest()[:24]


def render(reply: Reply | None, event: Event, *, corp_id: str, now: int | None = None) -> Rendered:
    if reply is None:
        return Rendered("")
    if event.channel == "app":
        return _render_app(reply, event, corp_id, now or int(time.time()))
    return _render_bot(reply, event)


def _render_app(reply: Reply, event: Event, corp_id: str, now: int) -> Rendered:
    is_card = isinstance(event, CardEvent)
    if isinstance(reply, UpdateCardReply) and is_card:
        if reply.card is not None:
            card = {k: v for k, v in reply.card.items() if k != "task_id"}
            return Rendered(
                _app_xml(event, corp_id, "update_template_card", _tag("TemplateCard", card), now)
            )
        name = cdata(reply.replace_name or "")
        inner = f"<Button><ReplaceName>{name}</ReplaceName></Button>"
        return Rendered(_app_xml(event, corp_id, "update_button", inner, now))
    if isinstance(reply, TextReply) and not is_card:
        text = cdata(cards.truncate_bytes(reply.content, cards.TEXT_MAX))
        return Rendered(_app_xml(event, corp_id, "text", f"<Content>{text}</Content>", now))
    # Markdown and a new card are send-only (D:90241 has no passive form for either), and text
    # answering a click would replace nothing: all of them go out through message/send.
    return Rendered("", late_messages(reply, event))


def _tag(name: str, card: Mapping[str, Any]) -> str:
    return f"<{name}>{card_xml(card)}</{name}>"


def _stream(event: Event, content: str) -> str:
    body = {
        "msgtype": "stream",
        "stream": {
            "id": stream_id(event),
            "finish": True,
            "content": cards.truncate_bytes(content, STREAM_MAX),
        },
    }
    return json.dumps(body, ensure_ascii=False)


def _render_bot(reply: Reply, event: Event) -> Rendered:
    if isinstance(event, CardEvent):
        if isinstance(reply, UpdateCardReply):
            return Rendered(json.dumps(_bot_card_update(reply, event), ensure_ascii=False))
        # Text answering a click is no update: it goes out via response_url.
        return Rendered("", late_messages(reply, event))
    if isinstance(reply, CardReply):
        return Rendered(
            json.dumps(
                {"msgtype": "template_card", "template_card": reply.card}, ensure_ascii=False
            )
        )
    text = _text_of(reply)
    if isinstance(event, EnterEvent):
        # The welcome reply of enter_chat is text or template_card only.
        return Rendered(
            json.dumps({"msgtype": "text", "text": {"content": text}}, ensure_ascii=False)
        )
    if isinstance(event, TextMessage):
        return Rendered(_stream(event, text))
    return Rendered("")


def _response_url_payload(reply: Reply, event: Event) -> dict[str, Any]:
    """D:101138: response_url takes markdown, or a template_card only when the callback came
    from a single chat; in a group the card's content goes as markdown."""
    card = reply.card if isinstance(reply, (CardReply, UpdateCardReply)) else None
    if card is not None and getattr(event, "chat_type", "single") == "single":
        return {"msgtype": "template_card", "template_card": dict(card)}
    text = cards.card_markdown(card) if card is not None else _text_of(reply)
    return {"msgtype": "markdown", "markdown": {"content": cards.truncate_bytes(text, STREAM_MAX)}}


def _bot_card_update(reply: UpdateCardReply, event: CardEvent) -> dict[str, Any]:
    """The bot's passive answer to a click (D:101031). It has no update_button: a rename
    becomes a card without buttons, so the clicked card stops being clickable. Without
    `userids` the update replaces the card for everyone in a group, so it names the clicker
    unless the click settled the card for all."""
    if reply.card is not None:
        card = dict(reply.card)
    else:
        card = cards.text_notice(task_id=event.task_id, title=reply.replace_name or "已处理")
    card["task_id"] = event.task_id  # D:101031: must equal the callback's
    body: dict[str, Any] = {"response_type": "update_template_card", "template_card": card}
    if event.in_group and not reply.for_everyone:
        body["userids"] = [event.user_id]
    return body


def _text_of(reply: Reply) -> str:
    if isinstance(reply, (TextReply, MarkdownReply)):
        return reply.content
    if isinstance(reply, UpdateCardReply):
        return reply.replace_name or ""
    return ""


def processing_body(event: Event) -> str:
    """What to answer when the handler is past its budget: nothing for the app (WeCom takes an
    empty 200 as "no passive reply"), a finished short stream for a bot text message."""
    if event.channel == "bot" and isinstance(event, TextMessage):
        return _stream(event, PROCESSING_TEXT)
    return ""


# -- late delivery through the outbox ------------------------------------------------------------


def late_messages(reply: Reply | None, event: Event) -> list[OutboxItem]:
    """The outbox messages that carry `reply` to the user after the passive window."""
    if reply is None:
        return []
    key = reply_key(event)
    response_url = getattr(event, "response_url", None)
    if event.channel == "bot":
        # The bot answers late only through the callback's response_url (D:101138). Without
        # one (enter_chat has none) there is no late answer: the app's message/send would put
        # a group's or the bot's answer into another chat (the user's 1:1 with the app).
        if not response_url:
            log.info("late bot reply to %s dropped: no response_url", event.dedupe_key)
            return []
        return [OutboxItem(key, "bot_response", response_url, _response_url_payload(reply, event))]
    if isinstance(reply, UpdateCardReply):
        code = getattr(event, "response_code", None)
        if code:
            update: dict[str, Any] = {"userids": [event.user_id], "response_code": code}
            if reply.card is not None:
                update["template_card"] = dict(reply.card)
            else:
                update["button"] = {"replace_name": reply.replace_name or ""}
            return [OutboxItem(key, "card_update", event.user_id, update)]
        if reply.card is not None:
            return [
                OutboxItem(key, "app_message", event.user_id, cards.app_template_card(reply.card))
            ]
        return [OutboxItem(key, "app_message", event.user_id, cards.app_text(_text_of(reply)))]
    if isinstance(reply, CardReply):
        payload = cards.app_template_card(reply.card)
    elif isinstance(reply, MarkdownReply):
        payload = cards.app_markdown(reply.content)
    else:
        payload = cards.app_text(_text_of(reply))
    return [OutboxItem(key, "app_message", event.user_id, payload)]


# -- sealing -------------------------------------------------------------------------------------


def seal_app(crypto: CallbackCrypto, plaintext: str, *, nonce: str) -> str:
    env = crypto.encrypt(plaintext, nonce=nonce)
    return (
        f"<xml><Encrypt>{cdata(env.encrypt)}</Encrypt>"
        f"<MsgSignature>{cdata(env.signature)}</MsgSignature>"
        f"<TimeStamp>{env.timestamp}</TimeStamp><Nonce>{cdata(env.nonce)}</Nonce></xml>"
    )


def seal_bot(crypto: CallbackCrypto, plaintext: str, *, nonce: str) -> str:
    env = crypto.encrypt(plaintext, nonce=nonce)
    return json.dumps(
        {
            "encrypt": env.encrypt,
            "msgsignature": env.signature,
            "timestamp": int(env.timestamp),
            "nonce": env.nonce,
        }
    )
