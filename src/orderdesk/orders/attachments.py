"""Files attached to orders and progress logs, stored under STORAGE_DIR by content hash.

The same bytes uploaded twice are stored once (content-addressed path); each upload still gets
its own `Attachment` row (its own name, uploader and order). Writes go to a temporary file that
is renamed into place, so a crash never leaves a half-written file under a valid hash.

Several files are all validated before the first is written (`store_files`), and the files a
refused request created are removed again (`discard_files`), so a refusal leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.core.errors import ValidationFailed
from orderdesk.models import Attachment, Staff
from orderdesk.settings import Settings

MAX_BYTES = 20 * 1024 * 1024
MAX_FILES = 9  # per upload (a progress log), as the API documents
MAX_NAME_CHARS = 120
# Extension -> accepted content types. A generic "application/octet-stream" (what many clients
# send) is accepted for any allowed extension; a specific type must match the extension.
ALLOWED_TYPES: dict[str, tuple[str, ...]] = {
    "pdf": ("application/pdf",),
    "png": ("image/png",),
    "jpg": ("image/jpeg",),
    "jpeg": ("image/jpeg",),
    "gif": ("image/gif",),
    "webp": ("image/webp",),
    "bmp": ("image/bmp",),
    "doc": ("application/msword",),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",),
    "xls": ("application/vnd.ms-excel",),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",),
    "ppt": ("application/vnd.ms-powerpoint",),
    "pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation",),
    "csv": ("text/csv", "text/plain"),
    "txt": ("text/plain",),
    "md": ("text/markdown", "text/plain"),
    "zip": ("application/zip", "application/x-zip-compressed"),
}
GENERIC_TYPES = ("application/octet-stream", "binary/octet-stream", "")
# Executables renamed to an allowed extension are refused by their first bytes.
EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe", b"#!")
FALLBACK_NAME = "附件"


def sanitize_name(name: str) -> str:
    """A safe display name: no directory parts, no control characters, bounded length."""
    name = unicodedata.normalize("NFC", name or "")
    # Both separators: a Windows client sends "C:\\Users\\x\\合同.pdf".
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = name.strip().lstrip(".").strip()
    if name in {"", ".", ".."}:
        return FALLBACK_NAME
    if len(name) > MAX_NAME_CHARS:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = stem[: MAX_NAME_CHARS - len(ext) - 1] + "." + ext
        else:
            name = name[:MAX_NAME_CHARS]
    return name


def _extension(name: str) -> str:
    suffix = PurePath(name).suffix
    return suffix[1:].lower() if suffix else ""


def check_file(name: str, content: bytes, content_type: str) -> tuple[str, str]:
    """Validate an upload; returns (safe name, content type) or raises ValidationFailed."""
    safe = sanitize_name(name)
    ext = _extension(safe)
    ctype = (content_type or "").split(";")[0].strip().lower()
    allowed = ", ".join(sorted(ALLOWED_TYPES))
    if not content:
        raise ValidationFailed("文件是空的", fields={"file": "文件是空的"})
    if len(content) > MAX_BYTES:
        mb = len(content) / (1024 * 1024)
        msg = f"文件过大({mb:.1f} MB),单个文件最大 20 MB"
        raise ValidationFailed(msg, fields={"file": msg})
    if ext not in ALLOWED_TYPES:
        msg = f"不支持的文件类型 .{ext or '(无扩展名)'},允许:{allowed}"
        raise ValidationFailed(msg, fields={"file": msg})
    if ctype not in GENERIC_TYPES and ctype not in ALLOWED_TYPES[ext]:
        msg = f"文件类型 {ctype} 与扩展名 .{ext} 不符"
        raise ValidationFailed(msg, fields={"file": msg})
    if content.startswith(EXECUTABLE_MAGIC):
        msg = "不允许上传可执行文件"
        raise ValidationFailed(msg, fields={"file": msg})
    return safe, (ctype if ctype not in GENERIC_TYPES else ALLOWED_TYPES[ext][0])


def _relative_path(digest: str) -> str:
    return f"{digest[:2]}/{digest[2:4]}/{digest}"


@dataclass(frozen=True)
class Upload:
    name: str
    content: bytes
    content_type: str


def check_uploads(uploads: Sequence[Upload]) -> list[tuple[str, str]]:
    """Validate every upload (count, then each file); every problem at once, keyed `files.N`."""
    if len(uploads) > MAX_FILES:
        msg = f"一次最多上传 {MAX_FILES} 个文件"
        raise ValidationFailed(msg, fields={"files": msg})
    checked: list[tuple[str, str]] = []
    errors: dict[str, str] = {}
    for i, up in enumerate(uploads):
        try:
            checked.append(check_file(up.name, up.content, up.content_type))
        except ValidationFailed as exc:
            errors[f"files.{i}"] = f"{sanitize_name(up.name)}:{exc.message}"
    if errors:
        raise ValidationFailed("附件不符合要求:" + ";".join(errors.values()), fields=errors)
    return checked


def _write_once(root: Path, relative: str, content: bytes) -> Path | None:
    """Store `content` at `relative`; the path if this call created it, None if it was there."""
    target = root / relative
    if target.exists() and target.stat().st_size == len(content):
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def store_file(
    session: Session,
    *,
    rt_settings: Settings,
    actor: Staff | None,
    name: str,
    content: bytes,
    content_type: str,
    order_id: int | None = None,
    note: str | None = None,
) -> Attachment:
    """Validate, store (once per content) and record an upload; the caller commits."""
    safe, ctype = check_file(name, content, content_type)
    attachment, _created = _store_checked(
        session, rt_settings, actor, safe, ctype, content, order_id=order_id, note=note
    )
    return attachment


def store_files(
    session: Session,
    *,
    rt_settings: Settings,
    actor: Staff | None,
    uploads: Sequence[Upload],
    order_id: int | None = None,
) -> tuple[list[Attachment], list[Path]]:
    """Validate all `uploads`, then store and record them. Returns the rows and the files this
    call created: give those to `discard_files` if the caller's work is refused afterwards."""
    checked = check_uploads(uploads)
    rows: list[Attachment] = []
    created: list[Path] = []
    try:
        for up, (safe, ctype) in zip(uploads, checked, strict=True):
            row, path = _store_checked(
                session, rt_settings, actor, safe, ctype, up.content, order_id=order_id
            )
            rows.append(row)
            created.extend([path] if path else [])
    except BaseException:
        discard_files(created)
        raise
    return rows, created


def discard_files(paths: Sequence[Path]) -> None:
    """Remove files a refused request created (files that existed before are never listed)."""
    for path in paths:
        path.unlink(missing_ok=True)


def _store_checked(
    session: Session,
    rt_settings: Settings,
    actor: Staff | None,
    safe: str,
    ctype: str,
    content: bytes,
    *,
    order_id: int | None,
    note: str | None = None,
) -> tuple[Attachment, Path | None]:
    digest = hashlib.sha256(content).hexdigest()
    relative = _relative_path(digest)
    created = _write_once(rt_settings.storage_path, relative, content)
    attachment = Attachment(
        name=safe,
        content_type=ctype,
        size=len(content),
        sha256=digest,
        storage_path=relative,
        uploader_id=actor.id if actor else None,
        order_id=order_id,
        note=note,
        created_at=clock.now(),
    )
    session.add(attachment)
    return attachment, created


def open_path(rt_settings: Settings, attachment: Attachment) -> Path:
    """Where an attachment's bytes live (for download endpoints)."""
    return rt_settings.storage_path / attachment.storage_path


@dataclass(frozen=True)
class Download:
    """What a download endpoint sends: the file, its original name and type."""

    path: Path
    name: str
    content_type: str


def download_of(rt_settings: Settings, attachment: Attachment) -> Download:
    return Download(
        path=open_path(rt_settings, attachment),
        name=attachment.name,
        content_type=attachment.content_type,
    )
