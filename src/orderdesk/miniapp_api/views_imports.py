"""Imports (issue 13): `POST /imports` stores the sheet and queues the import job (after
commit); `GET /imports/{id}` tells its status, progress and summary; `GET /imports/{id}/errors`
downloads the error workbook. Admin and finance; a run is seen by its uploader and admins."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Response, url_for

from orderdesk.core.formatting import attachment_disposition
from orderdesk.imports import runs
from orderdesk.imports.service import KINDS
from orderdesk.miniapp_api.errors import ApiError
from orderdesk.miniapp_api.registry import Ctx, Reply, endpoint
from orderdesk.miniapp_api.schemas import BOOL, ID, INT, NSTR, STR, nullable, obj
from orderdesk.models import ImportRun

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORM = {
    "type": "object",
    "required": ["kind"],
    "properties": {
        "kind": {"type": "string", "enum": list(KINDS)},
        "dry_run": {"type": "string", "enum": ["true", "false", "1", "0"]},
        "skip_invalid": {"type": "string", "enum": ["true", "false", "1", "0"]},
        "file": {
            "type": "array",
            "maxItems": 1,
            "items": {"type": "string", "contentMediaType": "application/octet-stream"},
            "description": ".xlsx 或 .csv(UTF-8 / GB18030),不超过 20 MB",
        },
    },
    "additionalProperties": False,
}
SUMMARY = obj(
    {"created": INT, "updated": INT, "unchanged": INT, "refused": INT, "written": BOOL},
    {
        "errors": {"type": "array", "items": STR},
        # Row numbers of the template's example row, skipped untouched (absent on older runs).
        "skipped_example": {"type": "array", "items": INT},
    },
)
RUN = obj(
    {
        "id": INT,
        "kind": STR,
        "filename": STR,
        "status": {"type": "string", "enum": ["queued", "running", "done", "refused", "failed"]},
        "phase": NSTR,
        "dry_run": BOOL,
        "skip_invalid": BOOL,
        "done_rows": INT,
        "total_rows": INT,
        "message": NSTR,
        "summary": nullable(SUMMARY),
        "errors_url": NSTR,
    }
)


def run_body(run: ImportRun) -> dict[str, Any]:
    summary = {k: v for k, v in (run.summary or {}).items() if k != "error_file"} or None
    return {
        "id": run.id,
        "kind": run.kind,
        "filename": run.filename,
        "status": run.status,
        "phase": run.phase,
        "dry_run": run.dry_run,
        "skip_invalid": run.skip_invalid,
        "done_rows": run.done_rows,
        "total_rows": run.total_rows,
        "message": run.message,
        "summary": summary,
        "errors_url": url_for("api.import_errors", run_id=run.id) if run.error_path else None,
    }


def _flag(raw: str | None) -> bool:
    return raw in ("true", "1")


@endpoint(
    "POST",
    "/imports",
    tag="imports",
    summary="导入表格(客户、联系人、合同、订单、分期、回款)",
    description="multipart:kind、file、dry_run、skip_invalid。返回导入任务,稍后用 GET 查看进度。",
    multipart=FORM,
    responses={202: RUN},
    errors=(403, 404),
)
def start_import(ctx: Ctx) -> Reply:
    files = ctx.body.get("files", [])
    if len(files) != 1:
        raise ApiError(422, fields={"file": "请上传一个文件"})
    upload = files[0]
    run = runs.start_run(
        ctx.session,
        actor=ctx.actor,
        storage=ctx.rt.settings.storage_path,
        kind=ctx.body["kind"],
        filename=upload.filename or "upload",
        content=upload.read(runs.MAX_BYTES + 1),
        dry_run=_flag(ctx.body.get("dry_run")),
        skip_invalid=_flag(ctx.body.get("skip_invalid")),
    )
    runs.enqueue_after_commit(ctx.session, ctx.rt.queue, run.id)
    return run_body(run), 202


@endpoint(
    "GET",
    "/imports/<int:run_id>",
    tag="imports",
    summary="导入任务的状态、进度和结果",
    path_schemas={"run_id": ID},
    responses={200: RUN},
    errors=(404,),
)
def import_status(ctx: Ctx, run_id: int) -> Reply:
    return run_body(runs.get_run(ctx.session, actor=ctx.actor, run_id=run_id))


@endpoint(
    "GET",
    "/imports/<int:run_id>/errors",
    tag="imports",
    summary="下载错误明细(原始行 + 错误列)",
    path_schemas={"run_id": ID},
    responses={200: None},
    downloads=(XLSX,),
    errors=(404,),
)
def import_errors(ctx: Ctx, run_id: int) -> Reply:
    run = runs.get_run(ctx.session, actor=ctx.actor, run_id=run_id)
    if not run.error_path or not Path(run.error_path).is_file():
        raise ApiError(404)
    return Response(
        Path(run.error_path).read_bytes(),
        mimetype=XLSX,
        headers={"Content-Disposition": attachment_disposition(Path(run.error_path).name)},
    )
