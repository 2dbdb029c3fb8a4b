"""Staff edits from the admin screen: roles, department, active.

Roles change through `change_roles` (the rule `orderdesk staff role` follows). An admin cannot
take away their own admin role or disable themselves: the last door into these screens must
not lock behind the person closing it. Disabling someone ends their page sessions at once
(a session is live only while its person is active).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.config.edits import require_admin
from orderdesk.core.errors import NotFound, ValidationFailed
from orderdesk.directory.service import change_roles
from orderdesk.models import Department, Staff
from orderdesk.models.staff import ROLES
from orderdesk.orders import timeline


def departments(session: Session) -> list[Department]:
    return list(session.scalars(select(Department).order_by(Department.name)))


def staff_by_userid(session: Session, *, actor: Staff, userid: str) -> Staff:
    require_admin(actor)
    person = session.scalar(select(Staff).where(Staff.userid == userid))
    if person is None:
        raise NotFound("找不到该员工")
    return person


def update_staff(
    session: Session,
    *,
    actor: Staff,
    userid: str,
    roles: Iterable[str],
    department_id: int | None,
    active: bool,
) -> Staff:
    """Set the person's roles, department and active flag; all checked before anything is
    written."""
    person = staff_by_userid(session, actor=actor, userid=userid)
    wanted = set(roles)
    unknown = sorted(wanted - set(ROLES))
    if unknown:
        raise ValidationFailed(f"未知角色 {', '.join(unknown)}", fields={"roles": "未知角色"})
    if not wanted:
        raise ValidationFailed("至少需要一个角色", fields={"roles": "至少一个"})
    if person.id == actor.id and ("admin" not in wanted or not active):
        raise ValidationFailed(
            "不能取消自己的管理员角色或停用自己", fields={"roles": "不能锁住自己"}
        )
    dept = None
    if department_id is not None:
        dept = session.get(Department, department_id)
        if dept is None:
            raise ValidationFailed("找不到该部门", fields={"department": "不存在"})
    changes = [f"+{r}" for r in sorted(wanted - person.roles)]
    changes += [f"-{r}" for r in sorted(person.roles - wanted)]
    if changes:
        change_roles(session, userid=person.userid, changes=changes)
    _set_place(session, actor=actor, person=person, dept=dept, active=active)
    return person


def _set_place(
    session: Session, *, actor: Staff, person: Staff, dept: Department | None, active: bool
) -> None:
    """Department and active flag, each change written to the timeline (who did it, when)."""
    notes = []
    if person.department_id != (dept.id if dept else None):
        old = person.department.name if person.department else "无"
        notes.append(f"部门:{old} → {dept.name if dept else '无'}")
        person.department = dept
    if person.active != active:
        notes.append("启用" if active else "停用")
        person.active = active
    if notes:
        session.flush()
        timeline.record(
            session,
            kind="updated",
            actor=actor,
            body=f"{person.name}({person.userid})" + ";".join(notes),
            data={"staff": person.userid, "changes": notes},
        )
