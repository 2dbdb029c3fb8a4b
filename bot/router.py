"""Decorator registration of command, card-action and event handlers (in the style of Slack Bolt).

The views call `router.dispatch(event, rt)`; it resolves the user, opens the transaction, runs
the middleware chain and the handler, and returns a `Reply` (or None for no passive reply).
The chat-commands issue extends this (middleware, error handler, normalisation).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from wecom.events import CardEvent, EnterEvent, Event, TextMessage
from wecom.replies import Reply

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from models import Staff
    from runtime import Runtime


@dataclass
class Context:
    """Everything a handler may use, passed explicitly (no keyword magic)."""

    event: Event
    rt: Runtime
    session: Session
    staff: Staff | None = None
    args: str = ""  # the text after the command word
    extras: dict[str, object] = field(default_factory=dict)


Handler = Callable[[Context], Reply | None]


@dataclass
class _Command:
    name: str
    aliases: tuple[str, ...]
    handler: Handler
    summary: str = ""
    usage: str = ""


class Router:
    def __init__(self) -> None:
        self.commands: dict[str, _Command] = {}
        self.actions: list[tuple[str, Handler]] = []
        self.enter_handlers: list[Handler] = []
        self.fallback: Handler | None = None

    def command(
        self, name: str, *aliases: str, summary: str = "", usage: str = ""
    ) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            cmd = _Command(name, aliases, fn, summary, usage)
            for word in (name, *aliases):
                self.commands[word.lower()] = cmd
            return fn

        return register

    def action(self, prefix: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            self.actions.append((prefix, fn))
            return fn

        return register

    def on_enter(self, fn: Handler) -> Handler:
        self.enter_handlers.append(fn)
        return fn

    def find(self, event: Event) -> tuple[Handler | None, str]:
        if isinstance(event, TextMessage):
            word, _, rest = event.content.strip().partition(" ")
            cmd = self.commands.get(word.lower())
            if cmd is not None:
                return cmd.handler, rest.strip()
            return self.fallback, event.content.strip()
        if isinstance(event, CardEvent):
            for prefix, fn in self.actions:
                if event.event_key.startswith(prefix):
                    return fn, event.event_key[len(prefix) :]
            return None, ""
        if isinstance(event, EnterEvent) and self.enter_handlers:
            return self.enter_handlers[0], ""
        return None, ""

    def dispatch(self, event: Event, rt: Runtime) -> Reply | None:
        from sqlalchemy import select

        from models import Staff

        handler, args = self.find(event)
        if handler is None:
            return None
        with rt.db.transaction() as session:
            staff = session.scalar(select(Staff).where(Staff.userid == event.user_id))
            return handler(Context(event=event, rt=rt, session=session, staff=staff, args=args))


router = Router()
