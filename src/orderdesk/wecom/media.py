"""Files the intelligent bot hands out by URL (the images of a `mixed` message, D:100719).

The URL is short-lived and the bytes are encrypted with the bot's EncodingAESKey
(`CallbackCrypto.decrypt_file`). Downloading is the WeCom edge: domains get plain bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests

from orderdesk.settings import Settings
from orderdesk.wecom.crypto import CallbackCrypto, CallbackError
from orderdesk.wecom.errors import WeComTransportError

TIMEOUT = (3.0, 10.0)
MAX_BYTES = 20 * 1024 * 1024  # what orders.attachments stores at most
_MAGIC = ((b"\x89PNG", "png"), (b"\xff\xd8\xff", "jpg"), (b"GIF8", "gif"), (b"RIFF", "webp"))


@dataclass(frozen=True)
class Downloaded:
    name: str
    content: bytes


def _bot_crypto(settings: Settings) -> CallbackCrypto:
    return CallbackCrypto(settings.wecom_bot_token, settings.wecom_bot_aes_key, "")


def bot_image(settings: Settings, url: str, *, index: int = 1) -> Downloaded:
    """Download and decrypt one image; WeComTransportError when it cannot be had."""
    try:
        resp = requests.get(url, timeout=TIMEOUT)
        resp.raise_for_status()
    except requests.RequestException as exc:
        raise WeComTransportError(f"bot image download failed: {type(exc).__name__}") from exc
    if len(resp.content) > MAX_BYTES + 32:
        raise WeComTransportError("bot image larger than 20 MB")
    try:
        content = _bot_crypto(settings).decrypt_file(resp.content)
    except CallbackError as exc:
        raise WeComTransportError(f"bot image does not decrypt: {exc}") from exc
    ext = next((e for magic, e in _MAGIC if content.startswith(magic)), "jpg")
    return Downloaded(f"图片{index}.{ext}", content)
