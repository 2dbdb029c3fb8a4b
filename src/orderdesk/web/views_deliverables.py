"""H5 pages for deliverables (issue 15): a project's (or order's) deliverables, one
deliverable's versions with superseded labels, uploading a version, the client's sign-off link,
and whether a milestone waits for the client's sign-off. The services decide; pages report."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue

from orderdesk.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from orderdesk.delivery import deliverables, signoff
from orderdesk.delivery.messages import DELIVERABLE_STATUS_ZH, SIGNOFF_ZH
from orderdesk.orders.attachments import Upload, download_of
from orderdesk.web import bp
from orderdesk.web.auth import Page, login_required

REF_MAX = 32


def _list(pg: Page, ref: str, error: str | None = None) -> str:
    project = deliverables.project_of(pg.session, actor=pg.actor, ref=ref[:REF_MAX])
    items = deliverables.list_deliverables(pg.session, actor=pg.actor, ref=project.code)
    return render_template(
        "web/deliverables.html",
        project=project,
        items=[(d, deliverables.current_version(d)) for d in items],
        may_edit=deliverables.may_edit(pg.actor, project),
        status_zh=DELIVERABLE_STATUS_ZH,
        signoff_zh=SIGNOFF_ZH,
        error=error,
    )


def _refused(exc: DomainError) -> int:
    if isinstance(exc, NotFound | PermissionDenied):
        raise exc
    return 400 if isinstance(exc, ValidationFailed) else 409


@bp.get("/m/projects/<ref>/deliverables")
@login_required
def deliverables_list(pg: Page, ref: str) -> ResponseReturnValue:
    return _list(pg, ref)


@bp.post("/m/projects/<ref>/deliverables")
@login_required
def deliverable_create(pg: Page, ref: str) -> ResponseReturnValue:
    raw = (request.form.get("milestone_id") or "").strip()
    if raw and not raw.isdigit():
        abort(400, "里程碑参数不正确")
    try:
        d = deliverables.create_deliverable(
            pg.session,
            actor=pg.actor,
            ref=ref[:REF_MAX],
            name=(request.form.get("name") or "")[:400],
            milestone_id=int(raw) if raw else None,
        )
    except DomainError as exc:
        status = _refused(exc)
        pg.session.rollback()
        return _list(pg, ref, error=exc.message), status
    return redirect(url_for("web.deliverable_detail", deliverable_id=d.id))


@bp.post("/m/projects/<ref>/milestones/<int:milestone_id>/signoff")
@login_required
def milestone_signoff(pg: Page, ref: str, milestone_id: int) -> ResponseReturnValue:
    try:
        deliverables.set_signoff_required(
            pg.session,
            actor=pg.actor,
            ref=ref[:REF_MAX],
            milestone_id=milestone_id,
            required=request.form.get("required") == "1",
        )
    except DomainError as exc:
        status = _refused(exc)
        pg.session.rollback()
        return _list(pg, ref, error=exc.message), status
    return redirect(url_for("web.deliverables_list", ref=ref[:REF_MAX]))


def _detail(
    pg: Page,
    deliverable_id: int,
    *,
    error: str | None = None,
    url: str | None = None,
    sent: bool = False,
) -> str:
    d = deliverables.get_deliverable(pg.session, actor=pg.actor, deliverable_id=deliverable_id)
    return render_template(
        "web/deliverable.html",
        d=d,
        current=deliverables.current_version(d),
        versions=list(reversed(d.versions)),
        may_edit=deliverables.may_edit(pg.actor, d.project),
        status_zh=DELIVERABLE_STATUS_ZH,
        signoff_zh=SIGNOFF_ZH,
        error=error,
        signoff_url=url,
        sent=sent,
    )


@bp.get("/m/deliverables/<int:deliverable_id>")
@login_required
def deliverable_detail(pg: Page, deliverable_id: int) -> ResponseReturnValue:
    """What the project group's card opens: the deliverable with its current version."""
    return _detail(pg, deliverable_id)


@bp.post("/m/deliverables/<int:deliverable_id>/versions")
@login_required
def deliverable_upload(pg: Page, deliverable_id: int) -> ResponseReturnValue:
    f = request.files.get("file")
    if f is None or not f.filename:
        return _detail(pg, deliverable_id, error="请选择要上传的文件"), 400
    try:
        deliverables.upload_version(
            pg.session,
            actor=pg.actor,
            deliverable_id=deliverable_id,
            upload=Upload(f.filename, f.read(), f.mimetype or "application/octet-stream"),
            note=(request.form.get("note") or "")[: deliverables.NOTE_MAX + 1],
            settings=pg.rt.settings,
        )
    except DomainError as exc:
        status = _refused(exc)
        pg.session.rollback()
        return _detail(pg, deliverable_id, error=exc.message), status
    return redirect(url_for("web.deliverable_detail", deliverable_id=deliverable_id))


@bp.post("/m/deliverables/<int:deliverable_id>/signoff-links")
@login_required
def deliverable_signoff_link(pg: Page, deliverable_id: int) -> ResponseReturnValue:
    """A sign-off link for the current version; its address is shown once, on this answer."""
    d = deliverables.get_deliverable(pg.session, actor=pg.actor, deliverable_id=deliverable_id)
    current = deliverables.current_version(d)
    if current is None:
        return _detail(pg, deliverable_id, error="还没有可供确认的版本"), 409
    try:
        made = signoff.create_link(
            pg.session,
            actor=pg.actor,
            version_id=current.id,
            secret=pg.rt.settings.secret_key,
            public_url=pg.rt.settings.public_url,
            send=request.form.get("send") == "1",
        )
    except DomainError as exc:
        status = _refused(exc)
        pg.session.rollback()
        return _detail(pg, deliverable_id, error=exc.message), status
    return _detail(pg, deliverable_id, url=made.url, sent=made.sent)


@bp.get("/m/deliverables/versions/<int:version_id>/file")
@login_required
def deliverable_file(pg: Page, version_id: int) -> ResponseReturnValue:
    version = deliverables.get_version(pg.session, actor=pg.actor, version_id=version_id)
    file = download_of(pg.rt.settings, version.attachment)
    if not file.path.is_file():
        abort(404)
    return send_file(
        file.path, mimetype=file.content_type, as_attachment=True, download_name=file.name
    )
