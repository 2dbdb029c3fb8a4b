"""Typed inbound events, the same shape whether they came from the app (XML) or the bot (JSON).

`bot/` handlers only ever see these; parsing lives in `wecom.parsing`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Channel = Literal["app", "bot"]


@dataclass(frozen=True)
class Event:
    channel: Channel
    user_id: str
    create_time: int

    @property
    def dedupe_key(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError


@dataclass(frozen=True)
class TextMessage(Event):
    content: str  # with the bot's @mention stripped
    msg_id: str
    chat_id: str | None = None  # bot group chats only
    chat_type: Literal["single", "group"] = "single"
    response_url: str | None = None  # bot only: one POST within 1 h
    images: tuple[str, ...] = ()  # bot `mixed` messages: encrypted image download URLs

    @property
    def in_group(self) -> bool:
        return self.chat_type == "group"

    @property
    def dedupe_key(self) -> str:
        return f"{self.channel}:msg:{self.msg_id}"


@dataclass(frozen=True)
class CardEvent(Event):
    event_key: str
    task_id: str
    card_type: str = ""
    response_code: str | None = None
    selected_items: dict[str, list[str]] = field(default_factory=dict)
    chat_id: str | None = None
    chat_type: Literal["single", "group"] = "single"
    response_url: str | None = None
    msg_id: str | None = None  # bot callbacks carry one (D:101027); the app's click has none

    @property
    def in_group(self) -> bool:
        return self.chat_type == "group"

    @property
    def dedupe_key(self) -> str:
        if self.msg_id:
            return f"{self.channel}:event:{self.msg_id}"
        # Two different clicks in the same second must not collide: include key and task.
        return (
            f"{self.channel}:card:{self.user_id}:{self.create_time}:{self.event_key}:{self.task_id}"
        )


@dataclass(frozen=True)
class EnterEvent(Event):
    """enter_agent (app) or enter_chat (bot)."""

    chat_id: str | None = None
    msg_id: str | None = None  # enter_chat carries one (D:101027); enter_agent has none

    @property
    def dedupe_key(self) -> str:
        if self.msg_id:
            return f"{self.channel}:event:{self.msg_id}"
        return f"{self.channel}:enter:{self.user_id}:{self.create_time}"


@dataclass(frozen=True)
class UnknownEvent(Event):
    kind: str = ""
    msg_id: str | None = None

    @property
    def dedupe_key(self) -> str:
        return f"{self.channel}:other:{self.user_id}:{self.create_time}:{self.kind}:{self.msg_id}"
