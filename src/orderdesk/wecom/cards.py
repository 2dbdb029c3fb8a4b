"""Pure builders for WeCom message bodies and template cards (D:90236 / D:101032).

Every function returns a plain dict that already respects the documented limits, so callers
(services, handlers, jobs) never have to think about bytes: long text is cut with "…" on a UTF-8
character boundary, task ids are made safe, and limits whose violation would change meaning
(too many buttons, an over-long button key) raise `ValueError` instead of silently dropping data.

Nothing here does I/O; `link_target` only reads settings.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

if TYPE_CHECKING:
    from orderdesk.settings import Settings

ELLIPSIS = "…"

# Documented limits (bytes unless noted). Where the platform gives a "suggested" character
# count we budget 3 bytes per CJK character.
TASK_ID_MAX = 128
BUTTON_KEY_MAX = 1024
MAX_BUTTONS = 6
MAX_HORIZONTAL = 6
MAX_JUMPS = 3
MAX_SELECTS = 3
MAX_OPTIONS = 10
OPTION_ID_MAX = 128
TEXT_MAX = 2048  # app text / markdown, webhook text
WEBHOOK_MARKDOWN_MAX = 4096
TITLE_MAX = 108  # ~36 CJK characters
DESC_MAX = 132  # ~44 CJK characters
SUB_TITLE_MAX = 480  # ~160 CJK characters
KEYNAME_MAX = 15  # ~5 CJK characters
VALUE_MAX = 78  # ~26 CJK characters
BUTTON_TEXT_MAX = 30  # ~10 CJK characters
SOURCE_MAX = 39  # ~13 CJK characters
URL_MAX = 2048

_TASK_ID_OK = re.compile(r"[0-9a-zA-Z_\-@]+")
_TASK_ID_BAD = re.compile(r"[^0-9a-zA-Z_\-@]")

# Button styles of button_interaction cards. The text of D:90236 (app) and D:101032 (bot) only
# says "1~4, 不填或错填默认1"; the colours are in per-channel style images that differ between
# the app and the bot, and third-party reports of them disagree (the "1 blue, 2 gray, 3 red,
# 4 green" once written here is one of them). Not settled by the documentation we can read, so:
# no meaning rides on colour. A destructive button says what it does in its text (驳回) and
# uses a style other than the default 1 on both channels; the fake WeCom enforces only 1..4.
STYLE_PRIMARY = 1  # the documented default
STYLE_DEFAULT = 2
STYLE_DANGER = 3  # colour unverified per channel: see above
STYLE_SUCCESS = 4


def truncate_bytes(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-8 bytes, ending with "…" when cut; never splits a char."""
    if limit <= 0:
        return ""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    mark = ELLIPSIS.encode("utf-8")
    if limit < len(mark):
        return raw[:limit].decode("utf-8", errors="ignore")
    # errors="ignore" drops a trailing partial character instead of producing U+FFFD.
    return raw[: limit - len(mark)].decode("utf-8", errors="ignore") + ELLIPSIS


def safe_task_id(raw: str) -> str:
    """A task_id WeCom accepts: [0-9a-zA-Z_-@], at most 128 bytes, unique per distinct `raw`.

    Valid ids pass through unchanged (approvals rely on `appr-{id}`); anything else is cleaned
    and suffixed with a short hash of the original so two different inputs never collide.
    """
    if raw and len(raw) <= TASK_ID_MAX and _TASK_ID_OK.fullmatch(raw):
        return raw
    digest = hashlib.sha1(raw.encode("utf-8")).hexdigest()[:12]
    cleaned = _TASK_ID_BAD.sub("_", raw)[: TASK_ID_MAX - len(digest) - 1]
    return f"{cleaned}-{digest}" if cleaned else f"t-{digest}"


def _check_key(key: str, what: str = "button key") -> str:
    if not key:
        raise ValueError(f"{what} must not be empty")
    if len(key.encode("utf-8")) > BUTTON_KEY_MAX:
        raise ValueError(f"{what} longer than {BUTTON_KEY_MAX} bytes")
    return key


@dataclass(frozen=True)
class Button:
    text: str
    key: str
    style: int = STYLE_PRIMARY


@dataclass(frozen=True)
class Option:
    id: str
    text: str


@dataclass(frozen=True)
class Select:
    question_key: str
    title: str
    options: Sequence[Option]
    selected_id: str | None = None


# --------------------------------------------------------------------------- jumps


# Where each kind of link goes: (mini-app page, its query key, H5 page under /m/).
LINK_PAGES: dict[str, tuple[str, str, str]] = {
    "order": ("pages/order/detail", "no", "orders"),
    "approval": ("pages/approval/detail", "id", "approvals"),
    "deliverable": ("pages/deliverable/detail", "id", "deliverables"),
}


def link_target(settings: Settings, kind: str, key: str | int) -> dict[str, Any]:
    """The `card_action` of a link in a card to one order, approval ...: the ONE place that
    decides where links go, so moving a page changes only `LINK_PAGES`.

    With `settings.miniapp_appid` set: type 2 (mini program), e.g. `pages/order/detail?no=...`.
    Without it: type 1, the H5 page `/m/orders/<no>` (`/m/approvals/<id>`) under
    ORDERDESK_PUBLIC_URL (default http://127.0.0.1:8000).
    """
    page, param, _h5 = LINK_PAGES[kind]
    if settings.miniapp_appid:
        pagepath = f"{page}?{urlencode({param: key})}"
        return {"type": 2, "appid": settings.miniapp_appid, "pagepath": pagepath}
    return {"type": 1, "url": h5_url(settings, kind, key)}


def h5_url(settings: Settings, kind: str, key: str | int) -> str:
    """The H5 page of `link_target` (for a message that can only carry a URL: textcard)."""
    h5 = LINK_PAGES[kind][2]
    base = settings.extra.get("ORDERDESK_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
    return f"{base}/m/{h5}/{quote(str(key), safe='')}"[:URL_MAX]


def order_jump(settings: Settings, number: str) -> dict[str, Any]:
    return link_target(settings, "order", number)


def approval_jump(settings: Settings, request_id: int) -> dict[str, Any]:
    return link_target(settings, "approval", request_id)


def _jump_item(title: str, action: Mapping[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {"title": truncate_bytes(title, TITLE_MAX), **action}
    return item


# --------------------------------------------------------------------------- card parts


def _common(
    card_type: str,
    *,
    task_id: str,
    title: str,
    desc: str | None,
    sub_title: str | None,
    fields: Iterable[tuple[str, str]],
    source: str | None,
    action: Mapping[str, Any] | None,
    jumps: Iterable[tuple[str, Mapping[str, Any]]],
) -> dict[str, Any]:
    card: dict[str, Any] = {"card_type": card_type, "task_id": safe_task_id(task_id)}
    if source:
        card["source"] = {"desc": truncate_bytes(source, SOURCE_MAX)}
    main: dict[str, str] = {"title": truncate_bytes(title, TITLE_MAX)}
    if desc:
        main["desc"] = truncate_bytes(desc, DESC_MAX)
    card["main_title"] = main
    if sub_title:
        card["sub_title_text"] = truncate_bytes(sub_title, SUB_TITLE_MAX)
    rows = list(fields)
    if rows:
        # More than six rows is a display limit, not meaning: keep the first six.
        card["horizontal_content_list"] = [
            {"keyname": truncate_bytes(k, KEYNAME_MAX), "value": truncate_bytes(str(v), VALUE_MAX)}
            for k, v in rows[:MAX_HORIZONTAL]
        ]
    jump_list = [_jump_item(t, a) for t, a in list(jumps)[:MAX_JUMPS]]
    if jump_list:
        card["jump_list"] = jump_list
    if action is not None:
        card["card_action"] = dict(action)
    return card


def text_notice(
    *,
    task_id: str,
    title: str,
    desc: str | None = None,
    sub_title: str | None = None,
    fields: Iterable[tuple[str, str]] = (),
    emphasis: tuple[str, str] | None = None,
    action: Mapping[str, Any] | None = None,
    url: str | None = None,
    jumps: Iterable[tuple[str, Mapping[str, Any]]] = (),
    source: str | None = "OrderDesk",
) -> dict[str, Any]:
    """A `text_notice` card. WeCom requires a `card_action`: pass `action` (e.g. from
    `link_target`) or `url`; without either the card opens the WeCom home page."""
    if action is None:
        action = {"type": 1, "url": (url or "https://work.weixin.qq.com")[:URL_MAX]}
    card = _common(
        "text_notice",
        task_id=task_id,
        title=title,
        desc=desc,
        sub_title=sub_title,
        fields=fields,
        source=source,
        action=action,
        jumps=jumps,
    )
    if emphasis is not None:
        card["emphasis_content"] = {
            "title": truncate_bytes(emphasis[0], TITLE_MAX),
            "desc": truncate_bytes(emphasis[1], DESC_MAX),
        }
    return card


def button_interaction(
    *,
    task_id: str,
    title: str,
    buttons: Sequence[Button | tuple[str, str] | tuple[str, str, int]],
    desc: str | None = None,
    sub_title: str | None = None,
    fields: Iterable[tuple[str, str]] = (),
    action: Mapping[str, Any] | None = None,
    jumps: Iterable[tuple[str, Mapping[str, Any]]] = (),
    source: str | None = "OrderDesk",
) -> dict[str, Any]:
    """A `button_interaction` card: 1..6 buttons whose `key` comes back as the click's EventKey."""
    items = [b if isinstance(b, Button) else Button(*b) for b in buttons]
    if not items:
        raise ValueError("button_interaction needs at least one button")
    if len(items) > MAX_BUTTONS:
        raise ValueError(f"at most {MAX_BUTTONS} buttons on a card, got {len(items)}")
    keys = [_check_key(b.key) for b in items]
    if len(set(keys)) != len(keys):
        raise ValueError("button keys on one card must be distinct")
    card = _common(
        "button_interaction",
        task_id=task_id,
        title=title,
        desc=desc,
        sub_title=sub_title,
        fields=fields,
        source=source,
        action=action,
        jumps=jumps,
    )
    card["button_list"] = [
        {
            "text": truncate_bytes(b.text, BUTTON_TEXT_MAX),
            "style": b.style if b.style in (1, 2, 3, 4) else STYLE_PRIMARY,
            "key": b.key,
        }
        for b in items
    ]
    return card


def multiple_interaction(
    *,
    task_id: str,
    title: str,
    selects: Sequence[Select],
    submit_text: str,
    submit_key: str,
    desc: str | None = None,
    source: str | None = "OrderDesk",
) -> dict[str, Any]:
    """A `multiple_interaction` card: up to 3 drop-downs of up to 10 options and a submit button."""
    if not selects:
        raise ValueError("multiple_interaction needs at least one select")
    if len(selects) > MAX_SELECTS:
        raise ValueError(f"at most {MAX_SELECTS} selects on a card")
    select_list = []
    for sel in selects:
        if not sel.options or len(sel.options) > MAX_OPTIONS:
            raise ValueError(f"a select needs 1..{MAX_OPTIONS} options")
        for opt in sel.options:
            if not opt.id or len(opt.id.encode("utf-8")) > OPTION_ID_MAX:
                raise ValueError(f"option id must be 1..{OPTION_ID_MAX} bytes")
        entry: dict[str, Any] = {
            "question_key": _check_key(sel.question_key, "question_key"),
            "title": truncate_bytes(sel.title, KEYNAME_MAX * 2),
            "option_list": [
                {"id": o.id, "text": truncate_bytes(o.text, VALUE_MAX)} for o in sel.options
            ],
        }
        if sel.selected_id is not None:
            entry["selected_id"] = sel.selected_id
        select_list.append(entry)
    card = _common(
        "multiple_interaction",
        task_id=task_id,
        title=title,
        desc=desc,
        sub_title=None,
        fields=(),
        source=source,
        action=None,
        jumps=(),
    )
    card["select_list"] = select_list
    card["submit_button"] = {
        "text": truncate_bytes(submit_text, BUTTON_TEXT_MAX),
        "key": _check_key(submit_key, "submit key"),
    }
    return card


# --------------------------------------------------------------------------- message bodies


def app_text(content: str) -> dict[str, Any]:
    """`message/send` body (without touser/agentid) for a text message."""
    return {"msgtype": "text", "text": {"content": truncate_bytes(content, TEXT_MAX)}}


def app_markdown(content: str) -> dict[str, Any]:
    return {"msgtype": "markdown", "markdown": {"content": truncate_bytes(content, TEXT_MAX)}}


def textcard(*, title: str, description: str, url: str, btntxt: str = "详情") -> dict[str, Any]:
    """`textcard` (message/send and appchat/send; appchat cannot carry a template_card)."""
    return {
        "msgtype": "textcard",
        "textcard": {
            "title": truncate_bytes(title, 128),
            "description": truncate_bytes(description, 512),
            "url": url[:URL_MAX],
            "btntxt": truncate_bytes(btntxt, 4 * 3),
        },
    }


def app_template_card(card: Mapping[str, Any]) -> dict[str, Any]:
    return {"msgtype": "template_card", "template_card": dict(card)}


def card_markdown(card: Mapping[str, Any]) -> str:
    """The readable content of a template card as markdown, for a channel that cannot carry the
    card (the bot's response_url answering a group callback, D:101138). Buttons are dropped:
    a click needs the card itself."""
    main = card.get("main_title") or {}
    lines = [f"**{main.get('title', '')}**"] if main.get("title") else []
    if main.get("desc"):
        lines.append(str(main["desc"]))
    emphasis = card.get("emphasis_content") or {}
    if emphasis.get("title"):
        lines.append(f"**{emphasis['title']}** {emphasis.get('desc', '')}".rstrip())
    if card.get("sub_title_text"):
        lines.append(str(card["sub_title_text"]))
    for row in card.get("horizontal_content_list") or []:
        lines.append(f"> {row.get('keyname', '')}:{row.get('value', '')}")
    return "\n".join(lines)


def webhook_text(content: str, *, mentioned: Sequence[str] = ()) -> dict[str, Any]:
    body: dict[str, Any] = {"content": truncate_bytes(content, TEXT_MAX)}
    if mentioned:
        body["mentioned_list"] = list(mentioned)
    return {"msgtype": "text", "text": body}


def webhook_markdown(content: str) -> dict[str, Any]:
    return {
        "msgtype": "markdown",
        "markdown": {"content": truncate_bytes(content, WEBHOOK_MARKDOWN_MAX)},
    }
