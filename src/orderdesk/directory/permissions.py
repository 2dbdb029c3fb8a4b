"""Data scope: who may see which orders and which money fields. Every entry point uses this module.

Rules (a staff member may hold several roles; their scopes add up):
- sales: orders they own;
- manager: orders owned by staff of their department, by their direct reports, and their own;
- finance: every order and every money field;
- pm: orders whose project they manage;
- delivery: orders of projects they work on (own a task of, or were added to), never their money;
- gm / admin: everything.
Outside the scope an order does not exist for that person: callers raise NotFound, the same answer
as a wrong number, so scope never leaks which numbers exist.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, false, or_, select, true

from orderdesk.core.errors import PermissionDenied
from orderdesk.models import Department, Order, Project, ProjectMember, Staff, Task
from orderdesk.models.staff import ROLE_NAMES_ZH

SEE_ALL_ROLES = ("finance", "gm", "admin")
MONEY_ROLES = ("finance", "gm", "admin")


def order_scope(actor: Staff) -> ColumnElement[bool]:
    """A WHERE clause on `Order` selecting exactly the orders `actor` may see."""
    if not actor.active:
        return false()
    if actor.has_role(*SEE_ALL_ROLES):
        return true()
    clauses: list[ColumnElement[bool]] = [Order.owner_id == actor.id]
    if actor.has_role("manager"):
        clauses.append(Order.owner_id.in_(team_of(actor)))
    if actor.has_role("pm"):
        managed = select(Project.order_id).where(Project.pm_id == actor.id)
        clauses.append(Order.id.in_(managed))
    if actor.has_role("delivery"):
        # Only for delivery: the subquery would cost every sales lookup its owner_id index.
        worked = select(Project.order_id).join(Task).where(Task.owner_id == actor.id)
        clauses.append(Order.id.in_(worked))
        joined = (
            select(Project.order_id).join(ProjectMember).where(ProjectMember.staff_id == actor.id)
        )
        clauses.append(Order.id.in_(joined))
    return or_(*clauses)


def money_scope(actor: Staff) -> ColumnElement[bool]:
    """A WHERE clause on `Order`: the orders whose money `actor` may see (the SQL twin of
    `can_see_money`, used by lists, reports and aging; a manager's team stands for the owners
    they manage)."""
    if not actor.active:
        return false()
    if sees_all_money(actor):
        return true()
    return or_(Order.owner_id == actor.id, Order.owner_id.in_(managed_by(actor)))


def sees_all_money(actor: Staff) -> bool:
    """Finance, the GM and admins see every order's money (while active)."""
    return actor.active and actor.has_role(*MONEY_ROLES)


def managed_by(actor: Staff) -> Select[tuple[int]]:
    """Ids of the staff `actor` manages as `_manages` sees it: direct reports, and everyone in
    a department whose head is `actor`."""
    headed = select(Department.id).where(Department.head_userid == actor.userid)
    return select(Staff.id).where(
        or_(Staff.manager_id == actor.id, Staff.department_id.in_(headed))
    )


def team_of(actor: Staff) -> Select[tuple[int]]:
    """Ids of the staff a manager-role actor leads: direct reports and their department."""
    team = Staff.manager_id == actor.id
    if actor.department_id is not None:
        team = or_(team, Staff.department_id == actor.department_id)
    return select(Staff.id).where(team)


def _manages(actor: Staff, owner: Staff | None) -> bool:
    """True when `actor` is `owner`'s manager: direct manager or head of the owner's department."""
    if owner is None:
        return False
    if owner.manager_id == actor.id:
        return True
    dept: Department | None = owner.department
    return dept is not None and bool(dept.head_userid) and dept.head_userid == actor.userid


def _leads_team_of(actor: Staff, owner: Staff | None) -> bool:
    """A manager-role actor whose department or direct reports include `owner`."""
    if owner is None or not actor.has_role("manager"):
        return False
    if owner.manager_id == actor.id:
        return True
    return actor.department_id is not None and owner.department_id == actor.department_id


def can_see_order(actor: Staff, order: Order) -> bool:
    """The Python twin of `order_scope` for an order already loaded."""
    if not actor.active:
        return False
    if actor.has_role(*SEE_ALL_ROLES) or order.owner_id == actor.id:
        return True
    if _leads_team_of(actor, order.owner):
        return True
    project = order.project
    if actor.has_role("pm") and project is not None and project.pm_id == actor.id:
        return True
    if actor.has_role("delivery") and project is not None:
        return any(task.owner_id == actor.id for task in project.tasks) or any(
            m.staff_id == actor.id for m in project.added_members
        )
    return False


def can_see_money(actor: Staff, order: Order) -> bool:
    """Amounts, receipts and margins: finance, gm, admin, the owner and the owner's manager."""
    if not actor.active:
        return False
    if actor.has_role(*MONEY_ROLES) or order.owner_id == actor.id:
        return True
    return _manages(actor, order.owner)


def require_role(actor: Staff, *roles: str) -> None:
    """PermissionDenied (with the roles that would do, in Chinese) unless `actor` holds one."""
    if actor.active and actor.has_role(*roles):
        return
    names = "、".join(ROLE_NAMES_ZH.get(r, r) for r in roles)
    raise PermissionDenied(f"此操作需要以下角色之一:{names}")


def owns_or_leads(actor: Staff, owner: Staff | None) -> bool:
    """`actor` is `owner`, one of `owner`'s managers, or a gm / admin (who lead everyone)."""
    if not actor.active:
        return False
    if actor.has_role("gm", "admin") or (owner is not None and owner.id == actor.id):
        return True
    return _leads_team_of(actor, owner) or _manages(actor, owner)


def can_manage(actor: Staff, order: Order) -> bool:
    """May change the order's state: its owner, the project's PM, a manager in scope, gm/admin."""
    if not can_see_order(actor, order):
        return False
    if actor.has_role("gm", "admin") or order.owner_id == actor.id:
        return True
    if _leads_team_of(actor, order.owner):
        return True
    project = order.project
    return project is not None and project.pm_id == actor.id
