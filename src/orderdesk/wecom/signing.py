"""Build signed, encrypted callbacks exactly as WeCom sends them, and read the encrypted replies.

Used by the tests, `orderdesk chat` / `orderdesk click` and bench/callback.py. With the sandbox
settings (the default) anyone can drive the bot locally; in live mode it needs the real token/key.

    req = signing.app_text(settings, "zhangsan", "查 SO-2026-0001")
    resp = client.post(req.url, data=req.body, content_type=req.content_type)
    signing.open_reply(settings, req.channel, resp.get_data(as_text=True))  # -> plaintext | None
"""

from __future__ import annotations

import itertools
import json
import os
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from defusedxml.ElementTree import fromstring

from orderdesk.core import clock
from orderdesk.settings import Settings
from orderdesk.wecom.crypto import CallbackCrypto, new_nonce
from orderdesk.wecom.envelopes import cdata
from orderdesk.wecom.events import Channel

PATHS: dict[Channel, str] = {"app": "/wecom/callback", "bot": "/wecom/bot"}

_counter = itertools.count(1)


def next_msg_id() -> str:
    """A fresh numeric id (unique within a process and across processes in practice)."""
    return f"{int(time.time() * 1000) % 10**13}{os.getpid() % 1000:03d}{next(_counter) % 10**6:06d}"


def crypto(settings: Settings, channel: Channel) -> CallbackCrypto:
    if channel == "app":
        return CallbackCrypto(settings.wecom_token, settings.wecom_aes_key, settings.wecom_corp_id)
    return CallbackCrypto(settings.wecom_bot_token, settings.wecom_bot_aes_key, "")


@dataclass(frozen=True)
class SignedRequest:
    channel: Channel
    query: dict[str, str]
    body: bytes
    content_type: str
    plaintext: str

    @property
    def path(self) -> str:
        return PATHS[self.channel]

    @property
    def url(self) -> str:
        """Path and query (append to a base URL, or give to a Flask test client)."""
        return f"{self.path}?{urlencode(self.query)}"


def seal(
    settings: Settings, channel: Channel, plaintext: str, *, receive_id: str | None = None
) -> SignedRequest:
    """Encrypt and sign `plaintext` into the POST WeCom would send."""
    c = crypto(settings, channel)
    if receive_id is not None:
        c = CallbackCrypto(c.token, _key_of(settings, channel), receive_id)
    env = c.encrypt(plaintext)
    query = {"msg_signature": env.signature, "timestamp": env.timestamp, "nonce": env.nonce}
    if channel == "app":
        body = (
            f"<xml><ToUserName>{cdata(settings.wecom_corp_id)}</ToUserName>"
            f"<Encrypt>{cdata(env.encrypt)}</Encrypt>"
            f"<AgentID>{cdata(str(settings.wecom_agent_id))}</AgentID></xml>"
        )
        return SignedRequest(channel, query, body.encode(), "text/xml", plaintext)
    body = json.dumps({"encrypt": env.encrypt})
    return SignedRequest(channel, query, body.encode(), "application/json", plaintext)


def _key_of(settings: Settings, channel: Channel) -> str:
    return settings.wecom_aes_key if channel == "app" else settings.wecom_bot_aes_key


def verification(settings: Settings, channel: Channel, echo: str = "") -> tuple[str, str]:
    """(path?query of a GET URL verification, the plaintext echostr the server must answer)."""
    echo = echo or new_nonce(19)
    c = crypto(settings, channel)
    env = c.encrypt(echo)
    query = {
        "msg_signature": env.signature,
        "timestamp": env.timestamp,
        "nonce": env.nonce,
        "echostr": env.encrypt,
    }
    return f"{PATHS[channel]}?{urlencode(query)}", echo


# -- plaintexts ----------------------------------------------------------------------------------


def _now() -> int:
    return int(clock.now().timestamp())


def app_text_xml(
    settings: Settings,
    user: str,
    content: str,
    *,
    msg_id: str | None = None,
    create_time: int | None = None,
) -> str:
    return (
        f"<xml><ToUserName>{cdata(settings.wecom_corp_id)}</ToUserName>"
        f"<FromUserName>{cdata(user)}</FromUserName>"
        f"<CreateTime>{create_time or _now()}</CreateTime>"
        f"<MsgType>{cdata('text')}</MsgType><Content>{cdata(content)}</Content>"
        f"<MsgId>{msg_id or next_msg_id()}</MsgId>"
        f"<AgentID>{settings.wecom_agent_id}</AgentID></xml>"
    )


def app_event_xml(
    settings: Settings,
    user: str,
    event: str,
    *,
    create_time: int | None = None,
    extra: str = "",
) -> str:
    return (
        f"<xml><ToUserName>{cdata(settings.wecom_corp_id)}</ToUserName>"
        f"<FromUserName>{cdata(user)}</FromUserName>"
        f"<CreateTime>{create_time or _now()}</CreateTime>"
        f"<MsgType>{cdata('event')}</MsgType><Event>{cdata(event)}</Event>{extra}"
        f"<AgentID>{settings.wecom_agent_id}</AgentID></xml>"
    )


def app_card_xml(
    settings: Settings,
    user: str,
    task_id: str,
    key: str,
    *,
    card_type: str = "button_interaction",
    response_code: str | None = None,
    selected: dict[str, list[str]] | None = None,
    create_time: int | None = None,
) -> str:
    items = "".join(
        f"<SelectedItem><QuestionKey>{cdata(q)}</QuestionKey><OptionIds>"
        + "".join(f"<OptionId>{cdata(o)}</OptionId>" for o in options)
        + "</OptionIds></SelectedItem>"
        for q, options in (selected or {}).items()
    )
    extra = (
        f"<EventKey>{cdata(key)}</EventKey><TaskId>{cdata(task_id)}</TaskId>"
        f"<CardType>{cdata(card_type)}</CardType>"
        f"<ResponseCode>{cdata(response_code or 'rc-' + new_nonce(12))}</ResponseCode>"
        + (f"<SelectedItems>{items}</SelectedItems>" if items else "")
    )
    return app_event_xml(
        settings, user, "template_card_event", create_time=create_time, extra=extra
    )


def bot_text_json(
    user: str,
    content: str,
    *,
    chat_id: str | None = None,
    msg_id: str | None = None,
    response_url: str | None = None,
    mention: str | None = "OrderDesk",
) -> str:
    """A bot text callback; in a group the content starts with the @mention, as WeCom sends it."""
    msg_id = msg_id or next_msg_id()
    group = chat_id is not None
    data: dict[str, Any] = {
        "msgid": msg_id,
        "aibotid": "orderdesk-bot",
        "chattype": "group" if group else "single",
        "from": {"userid": user},
        "response_url": response_url
        or f"https://qyapi.weixin.qq.com/cgi-bin/aibot/response?code={msg_id}",
        "msgtype": "text",
        "text": {"content": f"@{mention} {content}" if group and mention else content},
    }
    if group:
        data["chatid"] = chat_id
    return json.dumps(data, ensure_ascii=False)


def bot_mixed_json(
    user: str, content: str, image_urls: list[str], *, chat_id: str | None = None
) -> str:
    """A bot `mixed` callback: an @-mention with text and images (D:100719)."""
    data = json.loads(bot_text_json(user, content, chat_id=chat_id))
    text = data.pop("text")
    images = [{"msgtype": "image", "image": {"url": url}} for url in image_urls]
    data["msgtype"] = "mixed"
    data["mixed"] = {"msg_item": [{"msgtype": "text", "text": text}, *images]}
    return json.dumps(data, ensure_ascii=False)


def bot_event_json(
    user: str,
    event: dict[str, Any],
    *,
    chat_id: str | None = None,
    create_time: int | None = None,
    response_url: str | None = None,
) -> str:
    msg_id = next_msg_id()
    data: dict[str, Any] = {
        "msgid": msg_id,
        "create_time": create_time or _now(),
        "aibotid": "orderdesk-bot",
        "chattype": "group" if chat_id else "single",
        "from": {"userid": user},
        "response_url": response_url
        or f"https://qyapi.weixin.qq.com/cgi-bin/aibot/response?code={msg_id}",
        "msgtype": "event",
        "event": event,
    }
    if chat_id:
        data["chatid"] = chat_id
    return json.dumps(data, ensure_ascii=False)


def bot_card_json(
    user: str,
    task_id: str,
    key: str,
    *,
    chat_id: str | None = None,
    card_type: str = "button_interaction",
    create_time: int | None = None,
) -> str:
    detail = {"card_type": card_type, "event_key": key, "task_id": task_id}
    event = {"eventtype": "template_card_event", "template_card_event": detail}
    return bot_event_json(user, event, chat_id=chat_id, create_time=create_time)


# -- convenience: a signed request for the common cases ------------------------------------------


def app_text(settings: Settings, user: str, content: str, **kw: Any) -> SignedRequest:
    return seal(settings, "app", app_text_xml(settings, user, content, **kw))


def app_click(settings: Settings, user: str, task_id: str, key: str, **kw: Any) -> SignedRequest:
    return seal(settings, "app", app_card_xml(settings, user, task_id, key, **kw))


def app_enter(settings: Settings, user: str) -> SignedRequest:
    return seal(
        settings, "app", app_event_xml(settings, user, "enter_agent", extra="<EventKey></EventKey>")
    )


def bot_text(settings: Settings, user: str, content: str, **kw: Any) -> SignedRequest:
    return seal(settings, "bot", bot_text_json(user, content, **kw))


def bot_click(settings: Settings, user: str, task_id: str, key: str, **kw: Any) -> SignedRequest:
    return seal(settings, "bot", bot_card_json(user, task_id, key, **kw))


def bot_enter(settings: Settings, user: str, *, chat_id: str | None = None) -> SignedRequest:
    return seal(settings, "bot", bot_event_json(user, {"eventtype": "enter_chat"}, chat_id=chat_id))


# -- replies -------------------------------------------------------------------------------------


def open_reply(settings: Settings, channel: Channel, body: str) -> str | None:
    """Verify and decrypt a passive reply; None for an empty body (no passive reply)."""
    if not body.strip():
        return None
    c = crypto(settings, channel)
    if channel == "app":
        root = fromstring(body, forbid_dtd=True)
        fields = {
            name: (root.findtext(name) or "")
            for name in ("Encrypt", "MsgSignature", "TimeStamp", "Nonce")
        }
        return c.decrypt_verified(
            fields["MsgSignature"], fields["TimeStamp"], fields["Nonce"], fields["Encrypt"]
        )
    data = json.loads(body)
    return c.decrypt_verified(
        data["msgsignature"], str(data["timestamp"]), data["nonce"], data["encrypt"]
    )
