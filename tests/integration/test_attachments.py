"""Attachments: stored once by sha256, size and type limits, safe names."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orderdesk.core.errors import ValidationFailed
from orderdesk.models import Attachment
from orderdesk.orders import attachments
from orderdesk.orders.attachments import MAX_BYTES, check_file, sanitize_name
from orderdesk.runtime import Runtime
from tests.order_world import build_world


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_same_content_is_stored_once(session: Session, rt: Runtime) -> None:
    world = build_world(session)
    content = b"%PDF-1.7 contract body"
    digest = hashlib.sha256(content).hexdigest()
    first = attachments.store_file(
        session,
        rt_settings=rt.settings,
        actor=world.sales1,
        name="合同.pdf",
        content=content,
        content_type="application/pdf",
    )
    second = attachments.store_file(
        session,
        rt_settings=rt.settings,
        actor=world.sales2,
        name="合同-副本.pdf",
        content=content,
        content_type="application/octet-stream",
    )
    session.commit()
    root = rt.settings.storage_path
    assert _files(root) == [root / digest[:2] / digest[2:4] / digest]
    assert (root / first.storage_path).read_bytes() == content
    assert first.storage_path == second.storage_path and first.sha256 == digest
    assert (first.name, second.name) == ("合同.pdf", "合同-副本.pdf")
    assert second.content_type == "application/pdf" and first.size == len(content)
    assert attachments.open_path(rt.settings, second).read_bytes() == content
    other = attachments.store_file(
        session,
        rt_settings=rt.settings,
        actor=None,
        name="b.txt",
        content=b"other",
        content_type="text/plain",
    )
    session.commit()
    assert len(_files(root)) == 2 and other.storage_path != first.storage_path
    assert not [p for p in _files(root) if p.name.startswith(".upload-")]


def test_rejected_uploads_write_nothing(session: Session, rt: Runtime) -> None:
    build_world(session)
    bad = [
        ("big.pdf", b"%PDF" + b"0" * MAX_BYTES, "application/pdf", "文件过大"),
        ("empty.pdf", b"", "application/pdf", "文件是空的"),
        ("tool.exe", b"MZ\x90\x00", "application/octet-stream", "不支持的文件类型 .exe"),
        ("noext", b"data", "application/octet-stream", "无扩展名"),
        ("report.pdf", b"MZ\x90\x00", "application/pdf", "可执行文件"),
        ("photo.png", b"\x89PNG", "application/pdf", "与扩展名 .png 不符"),
        ("run.sh", b"#!/bin/sh", "text/plain", "不支持的文件类型 .sh"),
    ]
    for name, content, ctype, needle in bad:
        with pytest.raises(ValidationFailed) as err:
            attachments.store_file(
                session,
                rt_settings=rt.settings,
                actor=None,
                name=name,
                content=content,
                content_type=ctype,
            )
        assert needle in err.value.message and "file" in err.value.fields, name
    assert session.scalar(select(func.count(Attachment.id))) == 0
    assert _files(rt.settings.storage_path) == []


def test_exactly_twenty_megabytes_is_accepted() -> None:
    name, ctype = check_file("big.zip", b"PK" + b"0" * (MAX_BYTES - 2), "application/zip")
    assert (name, ctype) == ("big.zip", "application/zip")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("C:\\Users\\张三\\报价单.xlsx", "报价单.xlsx"),
        ("合同\x00\x1f\u202e.pdf", "合同.pdf"),
        ("  .hidden.pdf ", "hidden.pdf"),
        ("..", "附件"),
        ("", "附件"),
        ("/", "附件"),
        ("a" * 300 + ".docx", "a" * 115 + ".docx"),
        ("Ｒeport.pdf", "Ｒeport.pdf"),
    ],
)
def test_names_are_sanitised(raw: str, clean: str) -> None:
    assert sanitize_name(raw) == clean


@pytest.mark.parametrize(
    ("name", "ctype", "stored_type"),
    [
        ("a.PDF", "application/pdf; charset=binary", "application/pdf"),
        ("a.jpeg", "image/jpeg", "image/jpeg"),
        ("a.docx", "", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        (
            "a.xlsx",
            "application/octet-stream",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        ("a.zip", "application/x-zip-compressed", "application/x-zip-compressed"),
        ("a.csv", "text/plain", "text/plain"),
    ],
)
def test_allowed_types(name: str, ctype: str, stored_type: str) -> None:
    assert check_file(name, b"content", ctype)[1] == stored_type
