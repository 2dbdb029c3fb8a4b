"""Typed errors of the WeCom API client."""

from __future__ import annotations

# Token problems: refetch the token once and retry the call.
TOKEN_ERRORS = frozenset({40001, 40014, 41001, 42001})
# Platform busy or over a limit: back off with jitter and retry.
BUSY_ERRORS = frozenset({-1, 45009, 45033})
# Transport problems (timeout, connection refused, HTTP 5xx, not JSON) use this pseudo code.
TRANSPORT = -2
# Errors that retrying cannot fix: the outbox marks the message dead at once.
PERMANENT_ERRORS = frozenset(
    {
        40003,  # invalid userid
        40008,  # invalid message type
        40058,  # invalid parameter
        44004,  # empty text
        81013,  # every recipient invalid
        45002,  # content too long
        93000,  # invalid webhook url (robot removed)
    }
)


class WeComError(Exception):
    """An error answer (`errcode != 0`) or a transport failure talking to WeCom."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(f"WeCom error {code}: {msg}")
        self.code = code
        self.msg = msg

    @property
    def retryable(self) -> bool:
        return self.code not in PERMANENT_ERRORS

    @property
    def busy(self) -> bool:
        return self.code in BUSY_ERRORS or self.code == TRANSPORT


class WeComTransportError(WeComError):
    """Timeout, refused connection, HTTP error status or a body that is not JSON."""

    def __init__(self, msg: str) -> None:
        super().__init__(TRANSPORT, msg)
