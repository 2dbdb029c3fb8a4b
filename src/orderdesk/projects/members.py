"""The project team beyond PM, order owner and task owners (chat `成员 PRJ-… 添加 @郑凯`):
those who plan the work (projects.tasks.may_plan) add and remove people; an added person sees
the project and its order (delivery without money), posts 进度 and logs hours."""

from __future__ import annotations

from sqlalchemy.orm import Session

from orderdesk.core.errors import Conflict, ValidationFailed
from orderdesk.models import Project, ProjectMember, Staff
from orderdesk.orders import timeline
from orderdesk.projects.service import find_project, members
from orderdesk.projects.tasks import require_planner


def add_member(session: Session, *, actor: Staff, ref: str, person: Staff) -> Project:
    project = find_project(session, ref, actor=actor)
    require_planner(actor, project, "只有项目经理或其上级可以添加成员")
    if person in members(project):
        raise Conflict(f"{person.name} 已是项目 {project.code} 的成员")
    project.added_members.append(ProjectMember(staff=person, added_by_id=actor.id))
    session.flush()
    timeline.record(
        session,
        kind="task",
        actor=actor,
        body=f"添加项目成员 {person.name}",
        project=project,
        data={"event": "member_added", "userid": person.userid},
    )
    return project


def remove_member(session: Session, *, actor: Staff, ref: str, person: Staff) -> Project:
    """Only people added by hand can be removed: the PM, the owner and task owners belong to
    the project through their role (reassign the tasks first)."""
    project = find_project(session, ref, actor=actor)
    require_planner(actor, project, "只有项目经理或其上级可以移除成员")
    found = [m for m in project.added_members if m.staff_id == person.id]
    if not found:
        raise ValidationFailed(
            f"{person.name} 不是手动添加的成员(项目经理、订单负责人、任务负责人不能移除)",
            fields={"userid": "not_added"},
        )
    project.added_members.remove(found[0])
    session.flush()
    timeline.record(
        session,
        kind="task",
        actor=actor,
        body=f"移除项目成员 {person.name}",
        project=project,
        data={"event": "member_removed", "userid": person.userid},
    )
    return project
