"""Decorator registration of command, card-action and event handlers (in the style of Slack Bolt).

The views call `router.dispatch(event, rt)`. Dispatch normalises the text, finds the handler, and
runs it through a chain of tiny middleware functions that each call `next()`:

    timing/logging -> error handler -> transaction -> staff -> channel guard -> handler

The error handler sits outside the transaction so a domain error rolls everything back before the
friendly reply is built. Every text message gets a reply (unknown commands get a hint).
"""

from __future__ import annotations

import difflib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from orderdesk import metrics
from orderdesk.bot.parsing import BadArguments, normalize
from orderdesk.bot.redaction import view_for
from orderdesk.core.errors import DomainError
from orderdesk.core.logs import NO_REQUEST, current_request_id, request_scope
from orderdesk.directory.staff import get_active_staff
from orderdesk.wecom.events import CardEvent, EnterEvent, Event, TextMessage
from orderdesk.wecom.replies import Reply, TextReply

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from orderdesk.bot.redaction import View
    from orderdesk.models import Staff
    from orderdesk.runtime import Runtime

log = logging.getLogger(__name__)

BUSY_MESSAGE = "系统繁忙,参考编号 {ref}"
CLIENT_GROUP_REFUSAL = "这是客户群,不能在这里修改数据,请在与 OrderDesk 的单聊中操作"
GROUP_ONLY_MESSAGE = "这个命令只能在群聊中使用(@机器人)"
UNKNOWN_COMMAND = "没看懂「{text}」。发送「帮助」查看可用命令,例如:查 SO-2026-0001"
SUGGESTION = "你是不是想找:{names}"
SUGGESTION_LIMIT = 3
_LIKE_ENOUGH = 0.5  # difflib ratio: one shared character of two (收款 ~ 回款)
_ASCII_LIKE_ENOUGH = 0.7  # typos of English aliases: hlep ~ help, overdu ~ overdue


@dataclass
class Command:
    name: str
    aliases: tuple[str, ...]
    handler: Handler
    summary: str = ""
    usage: str = ""
    example: str = ""
    mutates: bool = False  # refused in client groups
    group_only: bool = False
    internal_only: bool = False  # refused in client groups even though it only reads

    def usage_text(self) -> str:
        lines = [f"用法:{self.usage or self.name}"]
        if self.example:
            lines.append(f"例如:{self.example}")
        return "\n".join(lines)


@dataclass
class Context:
    """Everything a handler may use, passed explicitly (no keyword magic)."""

    event: Event
    rt: Runtime
    session: Session = field(default=None)  # type: ignore[assignment]  # set by the transaction
    staff: Staff | None = None
    args: str = ""  # the text after the command word (normalised)
    command: Command | None = None
    extras: dict[str, object] = field(default_factory=dict)

    @property
    def actor(self) -> Staff:
        """The resolved staff member (the staff middleware guarantees it for every handler)."""
        if self.staff is None:  # pragma: no cover - the middleware runs first
            raise RuntimeError("handler ran before the staff middleware")
        return self.staff

    @property
    def chat_id(self) -> str | None:
        return getattr(self.event, "chat_id", None)

    @property
    def in_group(self) -> bool:
        return getattr(self.event, "chat_type", "single") == "group"

    @property
    def view(self) -> View:
        """Who reads the reply (set once per message by the channel middleware)."""
        view = self.extras.get("view")
        if view is None:  # pragma: no cover - the middleware runs first
            raise RuntimeError("handler ran before the channel middleware")
        return cast("View", view)

    @property
    def audience(self) -> str:
        """'private' (1:1), 'internal' or 'client' (group); set by the channel middleware."""
        return str(self.extras.get("audience", "private"))


Handler = Callable[[Context], Reply | None]
Next = Callable[[], Reply | None]
Middleware = Callable[[Context, Next], Reply | None]


def timing_middleware(ctx: Context, next: Next) -> Reply | None:
    started = time.perf_counter()
    try:
        return next()
    finally:
        elapsed_ms = (time.perf_counter() - started) * 1000
        name = ctx.command.name if ctx.command else type(ctx.event).__name__
        ctx.extras["elapsed_ms"] = elapsed_ms
        log.info("bot %s user=%s %.1fms", name, ctx.event.user_id, elapsed_ms)


def error_middleware(ctx: Context, next: Next) -> Reply | None:
    try:
        return next()
    except BadArguments as exc:
        usage = ctx.command.usage_text() if ctx.command else ""
        return TextReply("\n".join(filter(None, [exc.message, usage])))
    except DomainError as exc:
        return TextReply(exc.message)
    except Exception:
        ref = current_request_id()
        log.exception(
            "bot handler failed ref=%s user=%s event=%r", ref, ctx.event.user_id, ctx.event
        )
        return TextReply(BUSY_MESSAGE.format(ref=ref))


def transaction_middleware(ctx: Context, next: Next) -> Reply | None:
    with ctx.rt.db.transaction() as session:
        ctx.session = session
        return next()


def staff_middleware(ctx: Context, next: Next) -> Reply | None:
    ctx.staff = get_active_staff(ctx.session, ctx.event.user_id)
    return next()


def channel_middleware(ctx: Context, next: Next) -> Reply | None:
    """Work out who may read the reply, and refuse what a client group must not do."""
    view = view_for(ctx.session, ctx.event, ctx.actor)
    ctx.extras["view"] = view
    ctx.extras["audience"] = view.audience
    cmd = ctx.command
    if cmd is not None:
        if cmd.group_only and not ctx.in_group:
            return TextReply(GROUP_ONLY_MESSAGE)
        if ctx.audience == "client" and (cmd.mutates or cmd.internal_only):
            return TextReply(CLIENT_GROUP_REFUSAL)
    if isinstance(ctx.event, CardEvent) and ctx.audience == "client":
        return TextReply(CLIENT_GROUP_REFUSAL)
    return next()


DEFAULT_MIDDLEWARE: tuple[Middleware, ...] = (
    timing_middleware,
    error_middleware,
    transaction_middleware,
    staff_middleware,
    channel_middleware,
)


class Router:
    def __init__(self, middleware: tuple[Middleware, ...] = DEFAULT_MIDDLEWARE) -> None:
        self.commands: dict[str, Command] = {}
        self.actions: list[tuple[str, Handler]] = []
        self.enter_handlers: list[Handler] = []
        self.fallback: Handler | None = None
        self.middleware: list[Middleware] = list(middleware)

    # -- registration -------------------------------------------------------------------------
    def command(
        self,
        name: str,
        *aliases: str,
        summary: str = "",
        usage: str = "",
        example: str = "",
        mutates: bool = False,
        group_only: bool = False,
        internal_only: bool = False,
    ) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            cmd = Command(
                name, aliases, fn, summary, usage, example, mutates, group_only, internal_only
            )
            for word in (name, *aliases):
                self.commands[normalize(word).lower()] = cmd
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

    def use(self, middleware: Middleware) -> Middleware:
        """Add a middleware just before the handler (after staff resolution)."""
        self.middleware.append(middleware)
        return middleware

    def unique_commands(self) -> list[Command]:
        seen: dict[int, Command] = {}
        for cmd in self.commands.values():
            seen.setdefault(id(cmd), cmd)
        return list(seen.values())

    def suggest(self, text: str) -> list[str]:
        """The registered commands closest to what was typed, best first (at most three). It
        reads the command table, so commands registered by any module are suggested too."""
        word = normalize(text).lower()
        if not word:
            return []
        scored: list[tuple[float, int, str]] = []
        for order, cmd in enumerate(self.unique_commands()):
            score = max(_likeness(word, normalize(w).lower()) for w in (cmd.name, *cmd.aliases))
            head = word.split(" ")[0]
            if len(head) >= 2 and not head.isascii() and head in cmd.summary:
                score = max(score, _LIKE_ENOUGH)  # 应收 -> 回款, 逾期 (their summaries say so)
            if score >= _LIKE_ENOUGH:
                scored.append((-score, order, cmd.name))
        return [name for _, _, name in sorted(scored)[:SUGGESTION_LIMIT]]

    def lookup(self, word: str) -> Command | None:
        return self.commands.get(normalize(word).lower())

    # -- matching -----------------------------------------------------------------------------
    def match_text(self, text: str) -> tuple[Command | None, str]:
        """The command and its arguments. Chinese names may be glued to their argument
        ("查SO-2026-0001"), so the longest command word that prefixes the text also matches."""
        text = normalize(text)
        word, _, rest = text.partition(" ")
        cmd = self.commands.get(word.lower().lstrip("/"))
        if cmd is not None:
            return cmd, rest.strip()
        for name in sorted(self.commands, key=len, reverse=True):
            if not name.isascii() and text.startswith(name):
                return self.commands[name], text[len(name) :].strip()
        return None, text

    def find(self, event: Event) -> tuple[Handler | None, str]:
        if isinstance(event, TextMessage):
            cmd, args = self.match_text(event.content)
            if cmd is not None:
                return cmd.handler, args
            return self.fallback or self._unknown_command, args
        if isinstance(event, CardEvent):
            for prefix, fn in self.actions:
                if event.event_key.startswith(prefix):
                    return fn, event.event_key[len(prefix) :]
            return None, ""
        if isinstance(event, EnterEvent) and self.enter_handlers:
            return self.enter_handlers[0], ""
        return None, ""

    # -- running ------------------------------------------------------------------------------
    def dispatch(self, event: Event, rt: Runtime) -> Reply | None:
        if self is router:
            load_handlers()
        if current_request_id() == NO_REQUEST:
            # Outside a web request (chat --local, jobs): the lines of this message get an id.
            with request_scope():
                return self.dispatch(event, rt)
        command: Command | None = None
        if isinstance(event, TextMessage):
            command, _ = self.match_text(event.content)
        handler, args = self.find(event)
        if handler is None:
            return None
        metrics.name_command(command.name if command else type(event).__name__)
        ctx = Context(event=event, rt=rt, args=args, command=command)
        return self._run(ctx, handler)

    def _run(self, ctx: Context, handler: Handler) -> Reply | None:
        chain = self.middleware

        def call(index: int) -> Reply | None:
            if index == len(chain):
                return handler(ctx)
            return chain[index](ctx, lambda: call(index + 1))

        return call(0)

    def _unknown_command(self, ctx: Context) -> Reply | None:
        shown = ctx.args if len(ctx.args) <= 20 else ctx.args[:20] + "…"
        lines = [UNKNOWN_COMMAND.format(text=shown)]
        names = self.suggest(ctx.args)
        if names:
            lines.append(SUGGESTION.format(names=" / ".join(names)))
        return TextReply("\n".join(lines))


def _likeness(typed: str, word: str) -> float:
    """How close a typed text is to one command word (0..1). A Chinese command word inside the
    text (帮我看下逾期) counts as close; otherwise the first word is compared letter by letter."""
    if not word:
        return 0.0
    if typed == word:
        return 1.0
    if word in typed and (len(word) >= 2 or not word.isascii()):
        return 0.8
    head = typed.split(" ")[0]
    ratio = difflib.SequenceMatcher(None, head, word).ratio()
    if head.isascii():
        return ratio if ratio >= _ASCII_LIKE_ENOUGH else 0.0
    # Chinese words share a character by chance (合同 / 同意): only an aligned one counts.
    return ratio if head[0] == word[0] or head[-1] == word[-1] else 0.0


router = Router()

_loaded = False


def load_handlers() -> None:
    """Import the command modules once (they register themselves on `router`)."""
    global _loaded
    if not _loaded:
        _loaded = True
        import orderdesk.bot.handlers  # noqa: F401  # late: the handlers import this module
