"""What WeCom refuses, from its documentation: the strict half of the fake WeCom.

`RULES` is the one table: every rule names the `D:` page it comes from
(`developer.work.weixin.qq.com/document/path/<n>`, summarised in ../shared/WECOM.md) and the
errcode the fake answers with. The checks below are pure; `tests/fakes/wecom_server.py` applies
them to every API call and keeps the state some rules need (response_url / response_code use,
monthly customer counts); `check_passive` applies them to the passive replies our callback
endpoints answer with; `strict` routes `responses`-mocked requests through the same checks.

Only limits the documentation states are encoded. The card texts' "建议不超过 N 个字"
(title, desc, button text) are advice, not refusals, so they are not here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from defusedxml.ElementTree import fromstring

from orderdesk.settings import Settings
from orderdesk.wecom import signing

INVALID_TYPE = 40008  # 不合法的消息类型
INVALID_PARAM = 40058  # 不合法的参数
TOO_LONG = 45002  # 消息内容大小超过限制


@dataclass(frozen=True)
class Rule:
    name: str
    page: str
    errcode: int
    says: str


# fmt: off
RULES: dict[str, Rule] = {r.name: r for r in [
    # -- passive replies (checked by check_passive on our callback answers)
    Rule("app_passive_type", "D:90241", INVALID_TYPE,
         "app passive reply MsgType: text, image, voice, video, news, update_taskcard, "
         "update_button, update_template_card (the last two only to a card click); "
         "never markdown or a new template_card"),
    Rule("reply_nonce", "D:101033", INVALID_PARAM,
         "a passive reply's envelope carries the nonce of the callback URL "
         "(bot: required; app: what Tencent's sample does, D:90968)"),
    Rule("bot_passive_type", "D:101031", INVALID_TYPE,
         "bot passive reply: to a message stream / template_card / stream_with_template_card; "
         "to enter_chat text / template_card; to a card click update_template_card"),
    # -- the bot's response_url
    Rule("response_url_issued", "D:101138", INVALID_PARAM,
         "a response_url is the one a callback carried"),
    Rule("response_url_once", "D:101138", INVALID_PARAM,
         "a response_url takes one POST"),
    Rule("response_url_1h", "D:101138", INVALID_PARAM,
         "a response_url is valid for 1 hour"),
    Rule("response_url_type", "D:101138", INVALID_TYPE,
         "response_url msgtype: markdown, or template_card"),
    Rule("response_url_card_single", "D:101138", INVALID_TYPE,
         "template_card through response_url only when the callback came from a single chat"),
    # -- message/send (self-built app)
    Rule("send_msgtype", "D:90236", INVALID_TYPE,
         "message/send msgtype: text, image, voice, video, file, textcard, news, mpnews, "
         "markdown, template_card; miniprogram_notice only from a mini-program app"),
    Rule("send_target", "D:90236", INVALID_PARAM,
         "message/send needs agentid and one of touser/toparty/totag; touser <= 1000 ids"),
    Rule("text_bytes", "D:90236", TOO_LONG,
         "text.content and markdown.content <= 2048 bytes"),
    Rule("card_type", "D:90236", INVALID_PARAM,
         "template_card.card_type: text_notice, news_notice, button_interaction, "
         "vote_interaction, multiple_interaction"),
    Rule("task_id", "D:90236", INVALID_PARAM,
         "task_id [0-9a-zA-Z_-@], <= 128 bytes; required on interactive cards"),
    Rule("card_buttons", "D:90236", INVALID_PARAM,
         "button_interaction: 1..6 buttons, each with a key of <= 1024 bytes, style 1..4"),
    Rule("card_lists", "D:90236", INVALID_PARAM,
         "horizontal_content_list <= 6 rows, jump_list <= 3 items"),
    # -- message/update_template_card
    Rule("response_code_issued", "D:94888", INVALID_PARAM,
         "update_template_card needs userids, agentid and a response_code WeCom issued"),
    Rule("response_code_once", "D:94888", INVALID_PARAM,
         "a response_code works once"),
    Rule("response_code_72h", "D:94888", INVALID_PARAM,
         "a response_code is valid for 72 hours"),
    # -- app group chats
    Rule("appchat_send_type", "D:90248", INVALID_TYPE,
         "appchat/send msgtype: text, image, voice, video, file, textcard, news, mpnews, "
         "markdown (no template_card)"),
    Rule("appchat_create", "D:90245", INVALID_PARAM,
         "appchat/create: chatid <= 32 of [0-9a-zA-Z]; 2..2000 members"),
    Rule("appchat_chatid_taken", "D:90245", 86215,
         "appchat/create with a chatid that already exists is refused (会话ID已经存在)"),
    # -- group robot webhook
    Rule("webhook_bytes", "D:91770", TOO_LONG,
         "webhook text <= 2048 bytes, markdown <= 4096 bytes"),
    # -- media (images and files: uploaded first, sent by media_id)
    Rule("media_type", "D:90253", INVALID_TYPE,
         "media/upload type: image, voice, video, file; multipart field `media` with a filename"),
    Rule("media_size", "D:90253", 40009,
         "media larger than 5 bytes; image <= 2 MB (the stricter documented limit) as JPG/PNG; "
         "file <= 20 MB"),
    Rule("media_id", "D:90236", 40007,
         "an image / file message names a media_id WeCom issued, within its 3 days"),
    Rule("webhook_image", "D:91770", INVALID_PARAM,
         "webhook image: base64 of a JPG/PNG <= 2 MB and its md5"),
    # -- customers
    Rule("msg_template_month", "D:92135", 0,
         "each customer receives at most 4 add_msg_template per natural month; "
         "the rest come back in fail_list"),
]}
# fmt: on


class Refused(Exception):
    """A request WeCom would refuse: `rule` names the line of RULES."""

    def __init__(self, rule: str, detail: str = "") -> None:
        self.rule = RULES[rule]
        super().__init__(f"{self.rule.page} {rule}: {detail or self.rule.says}")

    def answer(self) -> dict[str, Any]:
        return {"errcode": self.rule.errcode, "errmsg": f"strict fake: {self}"}


def _bytes(text: Any) -> int:
    return len(str(text).encode("utf-8"))


# -------------------------------------------------------------------------------- bodies

APPCHAT_TYPES = frozenset(
    {"text", "image", "voice", "video", "file", "textcard", "news", "mpnews", "markdown"}
)
SEND_TYPES = APPCHAT_TYPES | {"template_card"}
INTERACTIVE = frozenset({"button_interaction", "vote_interaction", "multiple_interaction"})
CARD_TYPES = INTERACTIVE | {"text_notice", "news_notice"}
TEXT_MAX = 2048
TASK_ID = re.compile(r"[0-9a-zA-Z_\-@]{1,128}")
CHATID = re.compile(r"[0-9a-zA-Z]{1,32}")


def check_text(body: Mapping[str, Any], *, markdown_max: int = TEXT_MAX, rule: str) -> None:
    msgtype = body.get("msgtype")
    if msgtype in ("text", "markdown"):
        content = (body.get(msgtype) or {}).get("content", "")
        limit = TEXT_MAX if msgtype == "text" else markdown_max
        if _bytes(content) > limit:
            raise Refused(rule, f"{msgtype} of {_bytes(content)} bytes > {limit}")


def check_card(card: Mapping[str, Any]) -> None:
    card_type = card.get("card_type")
    if card_type not in CARD_TYPES:
        raise Refused("card_type", f"card_type {card_type!r}")
    task_id = card.get("task_id")
    needs_task = task_id is not None or card_type in INTERACTIVE
    if needs_task and not (isinstance(task_id, str) and TASK_ID.fullmatch(task_id)):
        raise Refused("task_id", f"task_id {task_id!r}")
    if card_type == "button_interaction":
        buttons = card.get("button_list") or []
        if not 1 <= len(buttons) <= 6:
            raise Refused("card_buttons", f"{len(buttons)} buttons")
        for button in buttons:
            key = button.get("key")
            if not key or _bytes(key) > 1024:
                raise Refused("card_buttons", f"button key {str(key)[:40]!r}")
            if "style" in button and button["style"] not in (1, 2, 3, 4):
                raise Refused("card_buttons", f"style {button['style']!r}")
    if len(card.get("horizontal_content_list") or []) > 6:
        raise Refused("card_lists", "more than 6 horizontal rows")
    if len(card.get("jump_list") or []) > 3:
        raise Refused("card_lists", "more than 3 jumps")


def check_message_send(body: Mapping[str, Any]) -> None:
    msgtype = body.get("msgtype")
    if msgtype not in SEND_TYPES:
        raise Refused("send_msgtype", f"msgtype {msgtype!r} from a self-built app")
    if not body.get("agentid") or not any(body.get(k) for k in ("touser", "toparty", "totag")):
        raise Refused("send_target")
    if len(str(body.get("touser") or "").split("|")) > 1000:
        raise Refused("send_target", "more than 1000 users")
    check_text(body, rule="text_bytes")
    if msgtype == "template_card":
        check_card(body.get("template_card") or {})


def check_appchat_send(body: Mapping[str, Any]) -> None:
    if body.get("msgtype") not in APPCHAT_TYPES:
        raise Refused("appchat_send_type", f"msgtype {body.get('msgtype')!r}")
    check_text(body, rule="text_bytes")


def check_appchat_create(body: Mapping[str, Any]) -> None:
    chatid = body.get("chatid")
    if chatid is not None and not CHATID.fullmatch(str(chatid)):
        raise Refused("appchat_create", f"chatid {chatid!r}")
    if not 2 <= len(body.get("userlist") or []) <= 2000:
        raise Refused("appchat_create", f"{len(body.get('userlist') or [])} members")


def check_webhook(body: Mapping[str, Any]) -> None:
    check_text(body, markdown_max=4096, rule="webhook_bytes")
    if body.get("msgtype") == "image":
        check_webhook_image(body.get("image") or {})


MEDIA_TYPES = frozenset({"image", "voice", "video", "file"})
MEDIA_LIMITS = {
    "image": 2 * 1024 * 1024,
    "voice": 2 * 1024 * 1024,
    "video": 10 * 1024 * 1024,
    "file": 20 * 1024 * 1024,
}
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")


def check_media_upload(kind: str | None, filename: str | None, content: bytes | None) -> None:
    if kind not in MEDIA_TYPES or content is None or not filename:
        raise Refused("media_type", f"type {kind!r}, filename {filename!r}")
    if len(content) <= 5 or len(content) > MEDIA_LIMITS[kind]:
        raise Refused("media_size", f"{kind} of {len(content)} bytes")
    if kind == "image" and not content.startswith(IMAGE_MAGIC):
        raise Refused("media_size", "image is not JPG/PNG")


def check_webhook_image(image: Mapping[str, Any]) -> None:
    try:
        raw = base64.b64decode(str(image.get("base64", "")), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Refused("webhook_image", "base64 does not decode") from exc
    if len(raw) > 2 * 1024 * 1024 or not raw.startswith(IMAGE_MAGIC):
        raise Refused("webhook_image", f"{len(raw)} bytes, not a JPG/PNG <= 2 MB")
    if hashlib.md5(raw).hexdigest() != image.get("md5"):
        raise Refused("webhook_image", "md5 does not match")


def check_webhook_media_ref(ref: Mapping[str, Any]) -> None:
    """A queued webhook image / file (wecom.outbox_media): delivery inlines the image (base64 +
    md5, <= 2 MB) or uploads the file through the robot's own upload_media."""
    kind, size = ref.get("kind"), int(ref.get("size") or 0)
    if kind == "image" and not 5 < size <= 2 * 1024 * 1024:
        raise Refused("webhook_image", f"image of {size} bytes")
    if kind not in ("image", "file"):
        raise Refused("webhook_image", f"webhook media of kind {kind!r}")


def media_id_of(body: Mapping[str, Any]) -> str | None:
    """The media_id an image / file message names (None for other messages)."""
    msgtype = body.get("msgtype")
    if msgtype not in ("image", "file", "voice", "video"):
        return None
    part = body.get(msgtype)
    if not isinstance(part, Mapping):
        return ""
    if "base64" in part:  # a webhook image travels inline (checked by check_webhook_image)
        return None
    return str(part.get("media_id") or "")


def check_update_card(body: Mapping[str, Any]) -> None:
    if not body.get("userids") or not body.get("agentid") or not body.get("response_code"):
        raise Refused("response_code_issued", "userids, agentid and response_code are required")
    if "template_card" in body:
        check_card(body["template_card"])


def check_response_url(body: Mapping[str, Any], *, chat_type: str | None) -> None:
    """`chat_type` of the callback that carried the URL (None: not known to the caller)."""
    msgtype = body.get("msgtype")
    if msgtype not in ("markdown", "template_card"):
        raise Refused("response_url_type", f"msgtype {msgtype!r}")
    if msgtype == "template_card":
        if chat_type not in ("single", None):
            raise Refused("response_url_card_single", f"callback came from a {chat_type} chat")
        check_card(body.get("template_card") or {})


# Stateless checks by API path (the fake server adds the stateful ones).
BODY_CHECKS: dict[str, Callable[[Mapping[str, Any]], None]] = {
    "message/send": check_message_send,
    "appchat/send": check_appchat_send,
    "appchat/create": check_appchat_create,
    "webhook/send": check_webhook,
    "message/update_template_card": check_update_card,
}


def check_body(path: str, body: Mapping[str, Any] | None) -> None:
    check = BODY_CHECKS.get(path)
    if check is not None:
        check(body or {})


def check_outbox(
    channel: str, recipient: str, payload: Mapping[str, Any], *, chat_type: str | None = None
) -> None:
    """An outbox row as the request delivery would make of it (wecom.delivery._call), for
    tests that run in sandbox mode and never reach the fake server."""
    body = {k: v for k, v in payload.items() if k not in ("after", "response_code_issued_at")}
    if channel == "app_message":
        check_message_send({**body, "touser": recipient, "agentid": 1})
    elif channel == "card_update" and "template_card" in body:
        check_card(body["template_card"])
    elif channel == "appchat":
        check_appchat_send(body)
    elif channel == "appchat_create":
        check_appchat_create({**body, "chatid": recipient})
    elif channel == "webhook" and isinstance(body.get("media"), Mapping):
        check_webhook_media_ref(body["media"])
    elif channel == "webhook":
        check_webhook(body)
    elif channel == "bot_response":
        check_response_url(body, chat_type=chat_type)


# -------------------------------------------------------------------------------- passive replies


def _callback_kind(channel: str, plaintext: str) -> tuple[str, str]:
    """(kind, chat type) of the callback a reply answers: message, enter, card or other."""
    if channel == "app":
        root = fromstring(plaintext, forbid_dtd=True)
        msg_type = root.findtext("MsgType") or ""
        event = root.findtext("Event") or ""
        if msg_type != "event":
            return "message", "single"
        if event == "template_card_event":
            return "card", "single"
        return ("enter" if event == "enter_agent" else "other"), "single"
    data = json.loads(plaintext)
    chat_type = str(data.get("chattype") or "single")
    if data.get("msgtype") != "event":
        return "message", chat_type
    event_type = (data.get("event") or {}).get("eventtype")
    if event_type == "template_card_event":
        return "card", chat_type
    return ("enter" if event_type == "enter_chat" else "other"), chat_type


APP_PASSIVE = {
    "message": {"text", "image", "voice", "video", "news"},
    "enter": {"text", "image", "voice", "video", "news"},
    "other": {"text", "image", "voice", "video", "news"},
    "card": {"text", "image", "voice", "video", "news", "update_button", "update_template_card"},
}
BOT_PASSIVE = {
    "message": {"stream", "template_card", "stream_with_template_card"},
    "enter": {"text", "template_card"},
    "card": {"update_template_card"},
    "other": set(),
}


def _reply_nonce(channel: str, body: str) -> str:
    if channel == "app":
        return fromstring(body, forbid_dtd=True).findtext("Nonce") or ""
    return str(json.loads(body).get("nonce") or "")


def check_passive(settings: Settings, req: signing.SignedRequest, body: str) -> str | None:
    """Open our passive reply to `req` as WeCom would, refusing what WeCom refuses.
    Returns the plaintext (None for "no passive reply")."""
    plain = signing.open_reply(settings, req.channel, body)
    if plain is None:
        return None
    if _reply_nonce(req.channel, body) != req.query["nonce"]:
        raise Refused("reply_nonce", "the reply's nonce is not the callback URL's")
    kind, _chat = _callback_kind(req.channel, req.plaintext)
    if req.channel == "app":
        msg_type = fromstring(plain, forbid_dtd=True).findtext("MsgType") or ""
        if msg_type not in APP_PASSIVE[kind]:
            raise Refused("app_passive_type", f"MsgType {msg_type!r} answering a {kind}")
        return plain
    data = json.loads(plain)
    reply_type = data.get("response_type") if kind == "card" else data.get("msgtype")
    if reply_type not in BOT_PASSIVE[kind]:
        raise Refused("bot_passive_type", f"{reply_type!r} answering a {kind}")
    if isinstance(data.get("template_card"), Mapping):
        check_card(data["template_card"])
    return plain


# -------------------------------------------------------------------------------- `responses`


def strict(chat_type: str = "single") -> Callable[[Any], tuple[bool, str]]:
    """A `responses` matcher: `responses.post(url, json=..., match=[strict()])` only answers a
    request WeCom would accept (a refused one fails the call with the rule in the message)."""

    def match(request: Any) -> tuple[bool, str]:
        path = urlsplit(str(request.url)).path.split("/cgi-bin/", 1)[-1]
        body = json.loads(request.body) if request.body else {}
        try:
            if path.startswith("aibot/"):
                check_response_url(body, chat_type=chat_type)
            else:
                check_body(path, body)
        except Refused as exc:
            return False, str(exc)
        return True, ""

    return match
