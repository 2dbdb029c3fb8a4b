"""Opaque paging cursors. Clients pass back what they were given; the shape may change."""

from __future__ import annotations

import base64
import binascii

from orderdesk.miniapp_api.errors import ApiError

CURSOR_SCHEMA = {
    "type": "string",
    "minLength": 1,
    "maxLength": 64,
    "description": "上一页返回的 next_cursor",
}


def encode(kind: str, last_id: int | None) -> str | None:
    if last_id is None:
        return None
    return base64.urlsafe_b64encode(f"{kind}:{last_id}".encode()).decode().rstrip("=")


def decode(kind: str, cursor: str | None, *, field: str = "cursor") -> int | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, value = raw.partition(":")
        if prefix != kind:
            raise ValueError(prefix)
        number = int(value)
        if number < 1:
            raise ValueError(value)
        return number
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(422, fields={field: "分页游标无效"}) from None
