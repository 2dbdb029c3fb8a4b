"""One logging setup (dictConfig) for every process: web (gunicorn or `serve`), worker, scheduler
and the CLI. Every line carries the request id of the request or job it belongs to, so the
`ref` a user reads in "系统繁忙,参考编号 …" finds the traceback.

The request id lives in a context variable: a request binds it in a `before_request` hook,
`Router.dispatch` binds one when nobody did (the CLI's `chat --local`, tests), an RQ job binds
its enqueuing request's id (or its own job id). Threads started with a copied context (the bot's
handler pool) keep it.
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any

import sentry_sdk

NO_REQUEST = "-"
_request_id: ContextVar[str] = ContextVar("orderdesk_request_id", default=NO_REQUEST)
# An id from a client or proxy (X-Request-Id) is kept only when it is short and plain.
_SAFE_ID = re.compile(r"[A-Za-z0-9._-]{6,64}")

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def new_request_id() -> str:
    # Short enough to read out over the phone: it is the `ref` in 系统繁忙 replies.
    return uuid.uuid4().hex[:8].upper()


def current_request_id() -> str:
    """The id of the request or job this code runs for ("-" outside any)."""
    return _request_id.get()


def accept_request_id(candidate: str | None) -> str:
    """`candidate` when it is a plain id (e.g. from a proxy's X-Request-Id), else a new one."""
    return candidate if candidate and _SAFE_ID.fullmatch(candidate) else new_request_id()


def enter_request(candidate: str | None) -> Token[str]:
    """Bind the id of a request starting now (`candidate` if plain); `leave_request` undoes it."""
    return _request_id.set(accept_request_id(candidate))


def leave_request(token: Token[str]) -> None:
    _request_id.reset(token)


@contextmanager
def request_scope(request_id: str | None = None) -> Iterator[str]:
    """Bind an id for the duration of a block, then restore the previous one."""
    token = _request_id.set(request_id or new_request_id())
    try:
        yield _request_id.get()
    finally:
        _request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Adds `record.request_id` to every record (the handler's filter, so every logger has it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts (UTC), level, logger, request_id, message, exc_info."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", NO_REQUEST),
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)


_OURS = (TextFormatter, JsonFormatter)


def logging_config(log_format: str = "text", level: str = "INFO") -> dict[str, Any]:
    formatter: dict[str, Any] = (
        {"()": JsonFormatter} if log_format == "json" else {"()": TextFormatter}
    )
    return {
        "version": 1,
        # gunicorn's, RQ's and APScheduler's loggers exist already: keep them, route to root.
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"default": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "default",
                "filters": ["request_id"],
            }
        },
        "root": {"level": level, "handlers": ["stderr"]},
    }


def setup_sentry(dsn: str, component: str) -> bool:
    """Report unhandled errors to Sentry when SENTRY_DSN is set (else nothing at all changes),
    tagged with the process kind and the request id of the failing request or job."""
    if not dsn:
        return False

    def _tag(event: Any, _hint: Any) -> Any:
        event.setdefault("tags", {})["request_id"] = current_request_id()
        return event

    sentry_sdk.init(dsn=dsn, before_send=_tag, server_name=component, send_default_pii=False)
    sentry_sdk.set_tag("component", component)
    return True


def setup_logging(log_format: str = "text", *, verbose: bool = False) -> bool:
    """Configure the root logger for this process (each entry point calls it; calling it again
    switches the format). Like `logging.basicConfig`, it leaves alone a root logger that someone
    else configured (a host application, pytest's capture), so it never steals their lines."""
    root = logging.getLogger()
    if any(not isinstance(h.formatter, _OURS) for h in root.handlers):
        return False
    logging.config.dictConfig(logging_config(log_format, "DEBUG" if verbose else "INFO"))
    return True
