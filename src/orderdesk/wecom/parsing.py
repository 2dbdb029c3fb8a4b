"""Parse decrypted callbacks into `wecom.events` (app XML, intelligent-bot JSON) and the outer
envelopes that carry them. Anything malformed raises `wecom.crypto.BadRequest` (HTTP 400).

XML goes through defusedxml: a DTD, entity declaration or external reference is refused before
any expansion happens (billion laughs, XXE).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Literal
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError as XmlParseError
from defusedxml.ElementTree import fromstring

from orderdesk.core import clock
from orderdesk.wecom.crypto import BadRequest
from orderdesk.wecom.events import CardEvent, EnterEvent, Event, TextMessage, UnknownEvent

log = logging.getLogger(__name__)

# Leading / trailing @mentions of the bot in a group message ("@OrderDesk 查 SO-1").
# WeCom separates a mention with a space or U+2005, both matched by \s.
_LEADING_MENTIONS = re.compile(r"^(?:\s*@\S+(?:\s+|$))+")
_TRAILING_MENTIONS = re.compile(r"(?:\s+@\S+)+\s*$")


def _xml(text: str) -> Element:
    try:
        return fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (XmlParseError, DefusedXmlException, ValueError) as exc:
        raise BadRequest(f"malformed XML: {type(exc).__name__}") from exc


def _child(root: Element, name: str) -> str | None:
    node = root.find(name)
    if node is None:
        return None
    return (node.text or "").strip() if name != "Content" else (node.text or "")


def _int(value: Any, name: str) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"{name} is not an integer") from exc


# -- envelopes -----------------------------------------------------------------------------------


def app_envelope(body: str) -> str:
    """The Encrypt value of `<xml><ToUserName/><Encrypt/><AgentID/></xml>`."""
    root = _xml(body)
    encrypt = _child(root, "Encrypt")
    if not encrypt:
        raise BadRequest("Encrypt missing")
    return encrypt


def bot_envelope(body: str) -> str:
    """The encrypt value of `{"encrypt": "..."}`."""
    data = _json(body)
    encrypt = data.get("encrypt")
    if not isinstance(encrypt, str) or not encrypt:
        raise BadRequest("encrypt missing")
    return encrypt


def _json(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise BadRequest("malformed JSON") from exc
    if not isinstance(data, dict):
        raise BadRequest("JSON body is not an object")
    return data


# -- app (XML) -----------------------------------------------------------------------------------


def parse_app(plaintext: str) -> Event:
    root = _xml(plaintext)
    user = _child(root, "FromUserName")
    msg_type = _child(root, "MsgType")
    if not user or not msg_type:
        raise BadRequest("FromUserName / MsgType missing")
    create_time = _int(_child(root, "CreateTime") or "", "CreateTime")
    msg_id = _child(root, "MsgId")
    if msg_type == "text":
        if not msg_id:
            raise BadRequest("MsgId missing")
        return TextMessage(
            channel="app",
            user_id=user,
            create_time=create_time,
            content=_child(root, "Content") or "",
            msg_id=msg_id,
        )
    if msg_type == "event":
        event = _child(root, "Event") or ""
        if event == "enter_agent":
            return EnterEvent(channel="app", user_id=user, create_time=create_time)
        if event == "template_card_event":
            return CardEvent(
                channel="app",
                user_id=user,
                create_time=create_time,
                event_key=_child(root, "EventKey") or "",
                task_id=_child(root, "TaskId") or "",
                card_type=_child(root, "CardType") or "",
                response_code=_child(root, "ResponseCode") or None,
                selected_items=_app_selected(root),
            )
        return UnknownEvent(
            channel="app", user_id=user, create_time=create_time, kind=f"event:{event}"
        )
    return UnknownEvent(
        channel="app", user_id=user, create_time=create_time, kind=msg_type, msg_id=msg_id
    )


def _app_selected(root: Element) -> dict[str, list[str]]:
    items: dict[str, list[str]] = {}
    for item in root.findall("./SelectedItems/SelectedItem"):
        key = _child(item, "QuestionKey")
        if key:
            items[key] = [(o.text or "").strip() for o in item.findall("./OptionIds/OptionId")]
    return items


# -- intelligent bot (JSON) ----------------------------------------------------------------------


def strip_mentions(content: str) -> str:
    text = _LEADING_MENTIONS.sub("", content)
    return _TRAILING_MENTIONS.sub("", text).strip()


def _str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise BadRequest(f"{key} is not a string")
    return value


def parse_bot(plaintext: str) -> Event:
    data = _json(plaintext)
    sender = data.get("from")
    user = _str(sender, "userid") if isinstance(sender, dict) else None
    msg_type = _str(data, "msgtype")
    if not user or not msg_type:
        raise BadRequest("from.userid / msgtype missing")
    raw_time = data.get("create_time")
    # A callback may carry no create_time: every dedupe key of the bot is its msgid
    # (D:100719, D:101027), so "now" never splits a retried delivery into two events.
    create_time = (
        _int(raw_time, "create_time") if raw_time is not None else int(clock.now().timestamp())
    )
    msg_id = _str(data, "msgid")
    chat_type: Literal["single", "group"] = (
        "group" if _str(data, "chattype") == "group" else "single"
    )
    chat_id = _str(data, "chatid") if chat_type == "group" else None
    response_url = _str(data, "response_url")
    if msg_type in ("text", "mixed"):
        content, images = _bot_text(data) if msg_type == "text" else _bot_mixed(data)
        if content is None or not msg_id:
            raise BadRequest(f"{msg_type} content / msgid missing")
        return TextMessage(
            channel="bot",
            user_id=user,
            create_time=create_time,
            content=strip_mentions(content),
            msg_id=msg_id,
            chat_id=chat_id,
            chat_type=chat_type,
            response_url=response_url,
            images=images,
        )
    if msg_type == "event":
        event = data.get("event")
        if not isinstance(event, dict):
            raise BadRequest("event missing")
        event_type = _str(event, "eventtype") or ""
        if event_type == "enter_chat":
            return EnterEvent(
                channel="bot",
                user_id=user,
                create_time=create_time,
                chat_id=chat_id,
                msg_id=msg_id,
            )
        if event_type == "template_card_event":
            detail = event.get("template_card_event")
            if not isinstance(detail, dict):
                detail = event  # some senders flatten the fields into `event`
            return CardEvent(
                channel="bot",
                user_id=user,
                create_time=create_time,
                event_key=_str(detail, "event_key") or "",
                task_id=_str(detail, "task_id") or "",
                card_type=_str(detail, "card_type") or "",
                response_code=_str(detail, "response_code"),
                selected_items=_bot_selected(detail.get("selected_items")),
                chat_id=chat_id,
                chat_type=chat_type,
                response_url=response_url,
                msg_id=msg_id,
            )
        return UnknownEvent(
            channel="bot",
            user_id=user,
            create_time=create_time,
            kind=f"event:{event_type}",
            msg_id=msg_id,
        )
    return UnknownEvent(
        channel="bot", user_id=user, create_time=create_time, kind=msg_type, msg_id=msg_id
    )


def _bot_text(data: dict[str, Any]) -> tuple[str | None, tuple[str, ...]]:
    text = data.get("text")
    return (_str(text, "content") if isinstance(text, dict) else None), ()


def _bot_mixed(data: dict[str, Any]) -> tuple[str | None, tuple[str, ...]]:
    """`mixed` (text and images in one message, D:100719): the texts joined are the command,
    the images' download URLs its attachments."""
    mixed = data.get("mixed")
    items = mixed.get("msg_item") if isinstance(mixed, dict) else None
    if not isinstance(items, list):
        return None, ()
    texts: list[str] = []
    images: list[str] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        part = item.get(str(item.get("msgtype")))
        if item.get("msgtype") == "text" and isinstance(part, dict):
            texts.append(_str(part, "content") or "")
        elif item.get("msgtype") == "image" and isinstance(part, dict) and _str(part, "url"):
            images.append(str(part["url"]))
    return " ".join(t.strip() for t in texts if t.strip()), tuple(images)


def _bot_selected(raw: Any) -> dict[str, list[str]]:
    """`{"selected_item": [{"question_key": k, "option_ids": {"option_id": [..]}}]}` (the JSON
    mirror of the app's XML); a bare list of items is accepted too."""
    if isinstance(raw, dict):
        raw = raw.get("selected_item", [])
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        return {}
    items: dict[str, list[str]] = {}
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("question_key"), str):
            continue
        options = item.get("option_ids", [])
        if isinstance(options, dict):
            options = options.get("option_id", [])
        if isinstance(options, str):
            options = [options]
        items[item["question_key"]] = [str(o) for o in options if isinstance(o, (str, int))]
    return items


def parse(channel: str, plaintext: str) -> Event:
    """A decrypted callback of either channel."""
    return parse_app(plaintext) if channel == "app" else parse_bot(plaintext)
