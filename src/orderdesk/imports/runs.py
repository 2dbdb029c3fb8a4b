"""Import runs: an uploaded sheet stored under STORAGE_DIR/imports/, a row that tracks it, and
the run itself (`execute`, called by the job). Runs are seen by whoever uploaded them and by
admins; anyone else reads "not found"."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.core.errors import DomainError, NotFound, ValidationFailed
from orderdesk.directory.permissions import require_role
from orderdesk.imports.engine import Summary, run_import
from orderdesk.imports.service import IMPORT_ROLES, make_kind
from orderdesk.models import ImportRun, Staff

SUFFIXES = (".xlsx", ".csv")
MAX_BYTES = 20 * 1024 * 1024
PROGRESS_EVERY = 2000  # rows between progress writes
# The job by its dotted path (RQ resolves it in the worker); domains never import jobs.
JOB = "orderdesk.jobs.imports.run_import_job"
Transaction = Callable[[], AbstractContextManager[Session]]


def _safe_name(name: str) -> str:
    base = Path(name or "upload").name
    return re.sub(r"[^\w.\-\u4e00-\u9fff]", "_", base)[-100:] or "upload"


def start_run(
    session: Session,
    *,
    actor: Staff,
    storage: Path,
    kind: str,
    filename: str,
    content: bytes,
    dry_run: bool,
    skip_invalid: bool,
) -> ImportRun:
    """Store the upload and queue a run for it (the caller enqueues the job after commit)."""
    require_role(actor, *IMPORT_ROLES)
    make_kind(session, actor, kind)  # unknown kind / missing role refused before storing
    name = _safe_name(filename)
    if Path(name).suffix.lower() not in SUFFIXES:
        raise ValidationFailed("只支持 .xlsx 和 .csv 文件", fields={"file": "type"})
    if not content or len(content) > MAX_BYTES:
        raise ValidationFailed("文件为空或超过 20 MB", fields={"file": "size"})
    folder = storage / "imports" / secrets.token_hex(8)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content)
    run = ImportRun(
        kind=kind,
        filename=name,
        stored_path=str(path),
        dry_run=dry_run,
        skip_invalid=skip_invalid,
        status="queued",
        total_rows=0,
        done_rows=0,
        summary={},
        created_by_id=actor.id,
        created_at=clock.now(),
    )
    session.add(run)
    session.flush()
    return run


def enqueue_after_commit(session: Session, queue: Any, run_id: int) -> None:
    """Queue the run's job once the run row and its file are committed (never before)."""

    def _go(_session: Session) -> None:
        # By keyword: JobQueue hands RQ explicit kwargs, which RQ refuses beside positionals.
        queue.enqueue(JOB, queue="low", run_id=run_id)

    event.listen(session, "after_commit", _go, once=True)


def get_run(session: Session, *, actor: Staff, run_id: int) -> ImportRun:
    run = session.get(ImportRun, run_id)
    if run is None or not (
        actor.active and (run.created_by_id == actor.id or actor.has_role("admin"))
    ):
        raise NotFound("未找到该导入")
    return run


def recent_runs(session: Session, *, actor: Staff, limit: int = 20) -> list[ImportRun]:
    stmt = select(ImportRun).order_by(ImportRun.id.desc()).limit(limit)
    if not actor.has_role("admin"):
        stmt = stmt.where(ImportRun.created_by_id == actor.id)
    return list(session.scalars(stmt))


def _note(tx: Transaction, run_id: int, **values: object) -> None:
    with tx() as session:
        run = session.get(ImportRun, run_id)
        assert run is not None
        for key, value in values.items():
            setattr(run, key, value)


def _finish(tx: Transaction, run_id: int, summary: Summary, dry_run: bool) -> None:
    rows = summary.created + summary.updated + summary.unchanged + summary.refused
    _note(
        tx,
        run_id,
        status="done" if summary.written or (dry_run and not summary.refused) else "refused",
        phase=None,
        summary=summary.as_dict(),
        error_path=summary.error_file,
        total_rows=rows,
        done_rows=rows,
        message=summary.line(),
        finished_at=clock.now(),
    )


def execute(tx: Transaction, run_id: int) -> Summary | None:
    """Run a queued import in its own transaction; progress is written in short ones beside it
    while rows are read (not while writing: SQLite has one writer at a time)."""
    with tx() as session:
        run = session.get(ImportRun, run_id)
        if run is None or run.status != "queued":
            return None  # run twice (a retried job): the first one owns it
        run.status, run.phase = "running", "validating"
        path, kind, actor_id = Path(run.stored_path), run.kind, run.created_by_id
        dry_run, skip_invalid = run.dry_run, run.skip_invalid

    def progress(phase: str, done: int) -> None:
        if phase == "writing" or done % PROGRESS_EVERY == 0:
            _note(tx, run_id, phase=phase, done_rows=done)

    try:
        with tx() as session:
            actor = session.get(Staff, actor_id)
            assert actor is not None
            summary = run_import(
                session,
                actor=actor,
                kind=make_kind(session, actor, kind),
                path=path,
                dry_run=dry_run,
                skip_invalid=skip_invalid,
                progress=progress,
            )
    except DomainError as exc:
        _note(
            tx, run_id, status="refused", phase=None, message=exc.message, finished_at=clock.now()
        )
        return None
    except Exception as exc:
        _note(
            tx,
            run_id,
            status="failed",
            phase=None,
            message=type(exc).__name__,
            finished_at=clock.now(),
        )
        raise
    _finish(tx, run_id, summary, dry_run)
    return summary
