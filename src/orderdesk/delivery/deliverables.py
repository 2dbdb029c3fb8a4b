"""Deliverables of a project and their versions (v1, v2 …), each a stored file.

Exactly one version is current (the one without `superseded_at`); uploading a new one
supersedes it under the deliverable's row lock, so two uploads at once get v3 and v4, never two
v3s. Older versions stay downloadable, labelled superseded. Who may see a project may list and
download; its members (PM, owner, task owners) and the managers in scope may add and upload.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.core.errors import NotFound, PermissionDenied, ValidationFailed
from orderdesk.core.locks import lock_row
from orderdesk.delivery import messages
from orderdesk.directory.permissions import can_manage
from orderdesk.models import Deliverable, DeliverableVersion, Milestone, Order, Project, Staff
from orderdesk.orders import timeline
from orderdesk.orders.attachments import Upload, discard_files, store_files
from orderdesk.orders.lookups import get_project
from orderdesk.projects.service import members
from orderdesk.settings import Settings

NAME_MAX = 200
NOTE_MAX = 1000


def project_of(session: Session, *, actor: Staff, ref: str) -> Project:
    """The project by its code or its order's number, if the actor may see it (else NotFound,
    echoing only what they typed)."""
    ref = (ref or "").strip().upper()
    code = session.scalar(
        select(Project.code).join(Order, Project.order_id == Order.id).where(Order.number == ref)
    )
    try:
        return get_project(session, actor=actor, code=code or ref)
    except NotFound:
        raise NotFound(f"找不到项目或订单 {ref}") from None


def may_edit(actor: Staff, project: Project) -> bool:
    return actor in members(project) or can_manage(actor, project.order)


def _require_edit(actor: Staff, project: Project) -> None:
    if not may_edit(actor, project):
        raise PermissionDenied(
            "只有项目成员(项目经理、订单负责人、任务负责人)或其上级可以操作交付物"
        )


def get_deliverable(session: Session, *, actor: Staff, deliverable_id: int) -> Deliverable:
    """A deliverable of a project the actor may see; any other id reads as missing."""
    found = session.get(Deliverable, deliverable_id)
    missing = NotFound(f"找不到交付物 {deliverable_id}")
    if found is None:
        raise missing
    try:
        get_project(session, actor=actor, code=found.project.code)
    except NotFound:
        raise missing from None
    return found


def get_version(session: Session, *, actor: Staff, version_id: int) -> DeliverableVersion:
    version = session.get(DeliverableVersion, version_id)
    if version is None:
        raise NotFound(f"找不到版本 {version_id}")
    try:
        get_deliverable(session, actor=actor, deliverable_id=version.deliverable_id)
    except NotFound:
        raise NotFound(f"找不到版本 {version_id}") from None
    return version


def current_version(deliverable: Deliverable) -> DeliverableVersion | None:
    return next((v for v in deliverable.versions if v.superseded_at is None), None)


def list_deliverables(session: Session, *, actor: Staff, ref: str) -> list[Deliverable]:
    project = project_of(session, actor=actor, ref=ref)
    return sorted(project.deliverables, key=lambda d: d.id)


def _name(raw: str) -> str:
    name = " ".join((raw or "").split())
    if not name:
        raise ValidationFailed("请写上交付物名称", fields={"name": "必填"})
    if len(name) > NAME_MAX:
        raise ValidationFailed(f"名称最多 {NAME_MAX} 字", fields={"name": f"最多 {NAME_MAX} 字"})
    return name


def _milestone(project: Project, milestone_id: int | None) -> Milestone | None:
    if milestone_id is None:
        return None
    found = next((m for m in project.milestones if m.id == milestone_id), None)
    if found is None:
        raise ValidationFailed("里程碑不属于该项目", fields={"milestone_id": "不存在"})
    return found


def create_deliverable(
    session: Session, *, actor: Staff, ref: str, name: str, milestone_id: int | None = None
) -> Deliverable:
    project = project_of(session, actor=actor, ref=ref)
    _require_edit(actor, project)
    deliverable = Deliverable(
        project=project,
        milestone=_milestone(project, milestone_id),
        name=_name(name),
        status="pending",
    )
    session.add(deliverable)
    session.flush()
    timeline.record(
        session,
        kind="deliverable",
        actor=actor,
        body=f"{actor.name} 新增交付物「{deliverable.name}」",
        project=project,
        data={"deliverable_id": deliverable.id, "event": "created"},
    )
    return deliverable


def _note(raw: str | None) -> str | None:
    note = (raw or "").strip()
    if len(note) > NOTE_MAX:
        raise ValidationFailed(f"说明最多 {NOTE_MAX} 字", fields={"note": f"最多 {NOTE_MAX} 字"})
    return note or None


def upload_version(
    session: Session,
    *,
    actor: Staff,
    deliverable_id: int,
    upload: Upload,
    note: str | None,
    settings: Settings,
) -> DeliverableVersion:
    """Store the file as the next version, supersede the current one, tell the project group.
    Everything is checked before the file is written; a refusal afterwards removes it."""
    deliverable = get_deliverable(session, actor=actor, deliverable_id=deliverable_id)
    _require_edit(actor, deliverable.project)
    text = _note(note)
    stored, created = store_files(
        session,
        rt_settings=settings,
        actor=actor,
        uploads=[upload],
        order_id=deliverable.project.order_id,
    )
    try:
        session.flush()  # the attachment's id
        version = _add_version(session, actor, deliverable, stored[0].id, text)
    except BaseException:
        discard_files(created)
        raise
    return version


def _add_version(
    session: Session, actor: Staff, deliverable: Deliverable, attachment_id: int, note: str | None
) -> DeliverableVersion:
    # Parallel uploads queue on the deliverable's row: numbering and "one current" hold.
    lock_row(session, Deliverable, deliverable.id)
    session.refresh(deliverable, ["versions"])
    previous = current_version(deliverable)
    now = clock.now()
    if previous is not None:
        previous.superseded_at = now
    version = DeliverableVersion(
        number=max((v.number for v in deliverable.versions), default=0) + 1,
        attachment_id=attachment_id,
        note=note,
        uploaded_by_id=actor.id,
        uploaded_at=now,
    )
    deliverable.versions.append(version)
    deliverable.attachment_id = attachment_id
    deliverable.status = "delivered"
    deliverable.delivered_at = now
    session.flush()
    body = messages.version_uploaded(deliverable.name, version, previous)
    timeline.record(
        session,
        kind="deliverable",
        actor=actor,
        body=f"{actor.name} 上传了{body}",
        project=deliverable.project,
        data={"deliverable_id": deliverable.id, "version_id": version.id, "event": "version"},
    )
    messages.notify_version(session, deliverable, version, previous, actor=actor)
    return version


def set_signoff_required(
    session: Session, *, actor: Staff, ref: str, milestone_id: int, required: bool
) -> Milestone:
    """Whether accepting the milestone waits for the client's sign-off of its deliverables."""
    project = project_of(session, actor=actor, ref=ref)
    milestone = next((m for m in project.milestones if m.id == milestone_id), None)
    if milestone is None:
        raise NotFound(f"项目 {project.code} 没有这个里程碑")
    if not can_manage(actor, project.order):
        raise PermissionDenied("只有订单负责人、项目经理或其上级可以设置里程碑的客户确认要求")
    if milestone.requires_signoff != required:
        milestone.requires_signoff = required
        state = "需要" if required else "不再需要"
        timeline.record(
            session,
            kind="milestone",
            actor=actor,
            body=f"{actor.name} 设置里程碑「{milestone.name}」验收前{state}客户确认交付物",
            project=project,
            data={"milestone_id": milestone.id, "requires_signoff": required},
        )
    return milestone
