"""Planning tasks on a project (chat `任务 PRJ-… 新增 数据迁移 @郑凯 12-20`, `… 转给 3 @冯雪`,
`… 删除 3`): the PM, the order's managers, gm and admin plan the work; every change is on the
timeline with the old and the new value."""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from orderdesk.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from orderdesk.models import Project, Staff, Task, TimeEntry
from orderdesk.orders import timeline
from orderdesk.projects.service import _is_manager_of, find_project

MAX_TITLE = 200


def may_plan(actor: Staff, project: Project) -> bool:
    """The PM and the managers above the order (and gm / admin) add and assign tasks."""
    return project.pm_id == actor.id or _is_manager_of(actor, project)


def require_planner(actor: Staff, project: Project, message: str) -> None:
    if not may_plan(actor, project):
        raise PermissionDenied(message)


def find_assignee(session: Session, who: str) -> Staff:
    """An active staff member by userid or exact name (`@郑凯` or `@zhengkai`)."""
    who = who.strip().lstrip("@").strip()
    person = session.scalar(
        select(Staff)
        .where(Staff.active.is_(True), or_(Staff.userid == who, Staff.name == who))
        .order_by(Staff.id)
        .limit(1)
    )
    if person is None:
        raise ValidationFailed(f"找不到同事「{who[:20]}」", fields={"owner": "不存在"})
    return person


def create_task(
    session: Session,
    *,
    actor: Staff,
    ref: str,
    title: str,
    owner: Staff | None = None,
    due_date: date | None = None,
) -> Task:
    """A new task on the project `ref` (project code or order number)."""
    project = find_project(session, ref, actor=actor)
    require_planner(actor, project, "只有项目经理或其上级可以新增任务")
    title = (title or "").strip()
    if not title or len(title) > MAX_TITLE:
        raise ValidationFailed(f"任务名称需为 1-{MAX_TITLE} 个字", fields={"title": "长度不对"})
    task = Task(project=project, title=title, owner=owner, due_date=due_date, status="todo")
    session.add(task)
    session.flush()
    parts = [f"新增任务「{title}」"]
    if owner is not None:
        parts.append(f"负责人 {owner.name}")
    if due_date is not None:
        parts.append(f"截止 {due_date.isoformat()}")
    timeline.record(
        session,
        kind="task",
        actor=actor,
        body=",".join(parts),
        project=project,
        data={
            "task_id": task.id,
            "event": "created",
            "owner": owner.userid if owner else None,
            "due_date": due_date.isoformat() if due_date else None,
        },
    )
    return task


def tasks_due(session: Session, *, actor: Staff, until: date, limit: int = 20) -> list[Task]:
    """The actor's open tasks due by `until` (overdue first): the 工作台's 「到期任务」."""
    stmt = (
        select(Task)
        .where(
            Task.owner_id == actor.id,
            Task.status != "done",
            Task.due_date.is_not(None),
            Task.due_date <= until,
        )
        .options(selectinload(Task.project))
        .order_by(Task.due_date, Task.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


UNSET = object()  # "not given" for a due date, where None means "clear it"


def planned_task(session: Session, *, actor: Staff, ref: str, task_ref: str) -> Task:
    """A task of the project `ref` by id or exact title, for someone who plans the project
    (a task of another project, or a project out of scope, reads as not found)."""
    project = find_project(session, ref, actor=actor)
    text = (task_ref or "").strip()
    found = [t for t in project.tasks if str(t.id) == text or t.title == text]
    if not found:
        raise NotFound(f"项目 {project.code} 没有任务「{text[:40]}」")
    require_planner(actor, project, "只有项目经理或其上级可以调整任务")
    return found[0]


def edit_task(
    session: Session,
    *,
    actor: Staff,
    task: Task,
    title: str | None = None,
    owner: Staff | object | None = UNSET,
    due_date: date | object | None = UNSET,
) -> Task:
    """Rename, reassign (owner None = unassigned) or move the due date of a planned task."""
    require_planner(actor, task.project, "只有项目经理或其上级可以调整任务")
    changes: list[str] = []
    data: dict[str, object] = {"task_id": task.id, "event": "edited"}
    if title is not None and title.strip() != task.title:
        new = title.strip()
        if not new or len(new) > MAX_TITLE:
            raise ValidationFailed(f"任务名称需为 1-{MAX_TITLE} 个字", fields={"title": "长度不对"})
        changes.append(f"名称 {task.title} → {new}")
        data["title"] = [task.title, new]
        task.title = new
    if owner is not UNSET and owner is not task.owner:
        new_owner = owner if isinstance(owner, Staff) else None
        changes.append(f"负责人 {_name(task.owner)} → {_name(new_owner)}")
        data["owner"] = [_userid(task.owner), _userid(new_owner)]
        task.owner = new_owner
    if due_date is not UNSET and due_date != task.due_date:
        new_due = due_date if isinstance(due_date, date) else None
        changes.append(f"截止 {_day(task.due_date)} → {_day(new_due)}")
        data["due_date"] = [_day(task.due_date), _day(new_due)]
        task.due_date = new_due
    if changes:
        session.flush()
        timeline.record(
            session,
            kind="task",
            actor=actor,
            body=f"任务「{task.title}」:" + ";".join(changes),
            project=task.project,
            data=data,
        )
    return task


def delete_task(session: Session, *, actor: Staff, task: Task) -> None:
    """Remove a planned task; one with logged hours stays (the hours point at it)."""
    project = task.project
    require_planner(actor, project, "只有项目经理或其上级可以删除任务")
    if session.scalar(select(TimeEntry.id).where(TimeEntry.task_id == task.id).limit(1)):
        raise Conflict(f"任务「{task.title}」已有工时记录,不能删除(可改为已完成)")
    project.tasks.remove(task)
    session.flush()
    timeline.record(
        session,
        kind="task",
        actor=actor,
        body=f"删除任务「{task.title}」(负责人 {_name(task.owner)},截止 {_day(task.due_date)})",
        project=project,
        data={"task_id": task.id, "event": "deleted", "title": task.title},
    )


def _name(person: Staff | None) -> str:
    return person.name if person else "未分配"


def _userid(person: Staff | None) -> str | None:
    return person.userid if person else None


def _day(day: date | None) -> str:
    return day.isoformat() if day else "无"
