"""Creating tasks on a project (chat `任务 PRJ-… 新增 数据迁移 @郑凯 12-20`): the PM, the order's
managers, gm and admin plan the work; every change is on the timeline."""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from orderdesk.core.errors import PermissionDenied, ValidationFailed
from orderdesk.models import Project, Staff, Task
from orderdesk.orders import timeline
from orderdesk.projects.service import _is_manager_of, find_project

MAX_TITLE = 200


def may_plan(actor: Staff, project: Project) -> bool:
    """The PM and the managers above the order (and gm / admin) add and assign tasks."""
    return project.pm_id == actor.id or _is_manager_of(actor, project)


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
    if not may_plan(actor, project):
        raise PermissionDenied("只有项目经理或其上级可以新增任务")
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
