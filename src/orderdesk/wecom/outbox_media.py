"""Images and files sent through the outbox (report charts, the finance pack).

WeCom sends a picture or a file by `media_id` (`media/upload`, D:90253), and a media_id lives
3 days; a row may wait longer than that (retries, an outage). So the outbox row stores a
reference to the bytes, never a media_id: `stash` writes them once under
STORAGE_DIR/outbox-media/ (content-addressed, like attachments) and the row's payload carries
`{"msgtype": "image" | "file", "media": {...}}`. Delivery uploads at send time (each retry
uploads again) and sends the resulting media_id; a group robot webhook takes an image inline
(base64 + md5, <= 2 MB, D:91770) and a file through its own `webhook/upload_media`.
Sandbox mode uploads nothing and copies the file to `instance/outbox-media/` for people to see.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from orderdesk.settings import Settings

MEDIA = "media"  # payload field
FOLDER = "outbox-media"
MIN_BYTES = 6  # WeCom refuses files of 5 bytes or less
IMAGE_MAX = 2 * 1024 * 1024  # images: 2 MB (the stricter of the documented limits), PNG/JPG
FILE_MAX = 20 * 1024 * 1024
WEBHOOK_IMAGE_MAX = 2 * 1024 * 1024
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")
_SAFE = re.compile(r"[^\w.\-\u4e00-\u9fff()()]+")


class MediaMissing(Exception):
    """The stashed bytes are gone (storage wiped): the message can never be delivered."""


def check_media(kind: str, content: bytes) -> None:
    """ValueError when WeCom would refuse these bytes as `kind` (checked before queueing)."""
    if kind not in ("image", "file"):
        raise ValueError(f"unsupported media kind {kind!r}")
    if len(content) < MIN_BYTES:
        raise ValueError("media must be larger than 5 bytes")
    limit = IMAGE_MAX if kind == "image" else FILE_MAX
    if len(content) > limit:
        raise ValueError(f"{kind} of {len(content)} bytes exceeds {limit}")
    if kind == "image" and not content.startswith(_IMAGE_MAGIC):
        raise ValueError("an image must be PNG or JPG")


def stash(settings: Settings, *, kind: str, name: str, content: bytes) -> dict[str, Any]:
    """Store the bytes once (by hash) and return the reference an outbox payload carries."""
    check_media(kind, content)
    digest = hashlib.sha256(content).hexdigest()
    relative = f"{FOLDER}/{digest[:2]}/{digest}"
    target = settings.storage_path / relative
    if not (target.exists() and target.stat().st_size == len(content)):
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".media-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(content)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    safe = _SAFE.sub("_", name).strip("._") or f"media.{'png' if kind == 'image' else 'bin'}"
    return {"kind": kind, "path": relative, "name": safe[:120], "size": len(content)}


def message(ref: dict[str, Any]) -> dict[str, Any]:
    """The outbox payload of one image / file message."""
    return {"msgtype": ref["kind"], MEDIA: ref}


def load(settings: Settings, ref: dict[str, Any]) -> bytes:
    path = settings.storage_path / str(ref["path"])
    if not path.is_file():
        raise MediaMissing(f"outbox media {ref['path']} is missing")
    return path.read_bytes()


def webhook_image(content: bytes) -> dict[str, Any]:
    if len(content) > WEBHOOK_IMAGE_MAX:
        raise ValueError("webhook image larger than 2 MB")
    return {
        "msgtype": "image",
        "image": {
            "base64": base64.b64encode(content).decode("ascii"),
            "md5": hashlib.md5(content).hexdigest(),  # WeCom's checksum, not a security use
        },
    }


def sandbox_copy(settings: Settings, ref: dict[str, Any], message_id: int) -> Path:
    """Sandbox: put the file where a person can open it, instance/outbox-media/<id>-<name>."""
    folder = settings.storage_path.parent / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{message_id}-{ref['name']}"
    source = settings.storage_path / str(ref["path"])
    if not source.is_file():
        raise MediaMissing(f"outbox media {ref['path']} is missing")
    shutil.copyfile(source, target)
    return target


def resolved(
    settings: Settings, channel: str, payload: dict[str, Any], upload: Any
) -> dict[str, Any]:
    """The body to send for a media payload: upload now (`upload(kind, name, bytes)` ->
    media_id), or inline for a webhook image. A payload without media is returned as is."""
    ref = payload.get(MEDIA)
    if not isinstance(ref, dict):
        return payload
    content = load(settings, ref)
    body = {k: v for k, v in payload.items() if k != MEDIA}
    if channel == "webhook" and ref["kind"] == "image":
        return {**body, **webhook_image(content)}
    media_id = upload(ref["kind"], ref["name"], content)
    return {**body, "msgtype": ref["kind"], ref["kind"]: {"media_id": media_id}}
