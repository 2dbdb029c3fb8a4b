"""What a handler answers with. The views turn these into encrypted envelopes for the channel
(app XML or bot JSON); the outbox turns them into `message/send` / `response_url` payloads when
the answer comes after the deadline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TextReply:
    content: str


@dataclass(frozen=True)
class MarkdownReply:
    content: str


@dataclass(frozen=True)
class CardReply:
    """A new template card (dict built by `wecom.cards`)."""

    card: dict[str, Any]


@dataclass(frozen=True)
class UpdateCardReply:
    """Answer to a card click: replace the clicked card, or just rename the buttons.

    `for_everyone`: in a bot group chat the update replaces the card for every member (the
    click settled it for all, e.g. an approval decided); by default only the clicker's copy."""

    card: dict[str, Any] | None = None
    replace_name: str | None = None
    for_everyone: bool = False


Reply = TextReply | MarkdownReply | CardReply | UpdateCardReply
