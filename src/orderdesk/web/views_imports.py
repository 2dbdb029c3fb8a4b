"""H5 admin page for imports (issue 13): upload a sheet, follow the run, download the error
workbook and the templates. Admin and finance only; anyone else gets the same 404 as a page
that does not exist. The import itself is the job the API queues (`jobs.imports`)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Response, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from orderdesk.core.errors import DomainError
from orderdesk.core.formatting import attachment_disposition
from orderdesk.imports import runs
from orderdesk.imports.service import IMPORT_ROLES, KIND_CLASSES, write_template
from orderdesk.web import bp
from orderdesk.web.auth import Page, login_required

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STATUS_ZH = {
    "queued": "排队中",
    "running": "进行中",
    "done": "已完成",
    "refused": "未导入",
    "failed": "失败",
}


def _allowed(pg: Page) -> None:
    if not pg.actor.has_role(*IMPORT_ROLES):
        abort(404)


def _render(pg: Page, error: str | None = None) -> str:
    return render_template(
        "web/imports.html",
        kinds=[(name, cls.title) for name, cls in KIND_CLASSES.items()],
        runs=runs.recent_runs(pg.session, actor=pg.actor),
        status_zh=STATUS_ZH,
        error=error,
    )


@bp.get("/m/admin/imports")
@login_required
def imports_page(pg: Page) -> ResponseReturnValue:
    _allowed(pg)
    return _render(pg)


@bp.post("/m/admin/imports")
@login_required
def imports_upload(pg: Page) -> ResponseReturnValue:
    _allowed(pg)
    upload = request.files.get("file")
    try:
        run = runs.start_run(
            pg.session,
            actor=pg.actor,
            storage=pg.rt.settings.storage_path,
            kind=request.form.get("kind", ""),
            filename=(upload.filename if upload else "") or "",
            content=upload.read(runs.MAX_BYTES + 1) if upload else b"",
            dry_run=bool(request.form.get("dry_run")),
            skip_invalid=bool(request.form.get("skip_invalid")),
        )
    except DomainError as exc:
        pg.session.rollback()
        return _render(pg, error=exc.message), 422
    runs.enqueue_after_commit(pg.session, pg.rt.queue, run.id)
    return redirect(url_for("web.import_detail", run_id=run.id))


@bp.get("/m/admin/imports/<int:run_id>")
@login_required
def import_detail(pg: Page, run_id: int) -> ResponseReturnValue:
    _allowed(pg)
    run = runs.get_run(pg.session, actor=pg.actor, run_id=run_id)
    kind = KIND_CLASSES[run.kind].title
    return render_template("web/import.html", run=run, kind=kind, status_zh=STATUS_ZH)


@bp.get("/m/admin/imports/<int:run_id>/errors")
@login_required
def import_error_file(pg: Page, run_id: int) -> ResponseReturnValue:
    _allowed(pg)
    run = runs.get_run(pg.session, actor=pg.actor, run_id=run_id)
    if not run.error_path or not Path(run.error_path).is_file():
        abort(404)
    return _download(Path(run.error_path).read_bytes(), f"import-{run.id}-errors.xlsx")


@bp.get("/m/admin/imports/template/<kind>")
@login_required
def import_template(pg: Page, kind: str) -> ResponseReturnValue:
    _allowed(pg)
    if kind not in KIND_CLASSES:
        abort(404)
    with tempfile.TemporaryDirectory() as folder:
        path = write_template(pg.session, actor=pg.actor, name=kind, path=Path(folder) / "t.xlsx")
        data = path.read_bytes()
    return _download(data, f"{kind}-template.xlsx")


def _download(data: bytes, name: str) -> Response:
    return Response(
        data, mimetype=XLSX, headers={"Content-Disposition": attachment_disposition(name)}
    )
