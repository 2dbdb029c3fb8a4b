"""The staff directory: adding staff and roles by hand, and the WeCom directory sync rules.

The sync is split in two so the rules are testable without HTTP: `plan_directory()` maps the
plain dicts WeCom returns (department/list, user/list, tag/list, tag/get) to a plan, and
`apply_directory()` writes that plan in the caller's transaction.

Sync rules:
- Departments are matched by WeCom id (name, parent and head are updated; none are deleted).
  The head is `department_leader[0]`, else the first member flagged `is_leader_in_dept` there.
- Staff are matched by userid. Active means WeCom status 1 (activated); disabled, not yet
  activated or departed members become inactive. Staff missing from the directory become
  inactive too, except admins (so a sync can never lock every administrator out).
- Manager: `direct_leader[0]` when WeCom has one; else the head of the main department; when
  the member is that head, the head of the parent department.
- Roles come from tags named in WECOM_ROLE_TAGS ("role=tag,..."). Those roles are managed by
  the sync (granted to tag members, including members of tagged departments, and taken away
  from everyone else); roles not named there are left as they were set by hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.core.errors import Conflict, NotFound, ValidationFailed
from orderdesk.models import Department, Staff
from orderdesk.models.staff import ROLE_NAMES_ZH, ROLES
from orderdesk.orders import timeline

ROLE_ALIASES: dict[str, str] = {
    **{r: r for r in ROLES},
    **{zh: r for r, zh in ROLE_NAMES_ZH.items()},
    "销售经理": "manager",
    "部门经理": "manager",
    "pmo": "pm",
}


def role_of(word: str) -> str:
    """'sales' / '销售' -> 'sales'; a clear bilingual error for anything else."""
    role = ROLE_ALIASES.get(word.strip().lower()) or ROLE_ALIASES.get(word.strip())
    if role is None:
        raise ValidationFailed(
            f"未知角色 / unknown role: {word!r};可选 / one of: {', '.join(ROLES)}",
            fields={"role": word},
        )
    return role


def parse_role_tags(spec: str) -> dict[str, str]:
    """'finance=财务,manager=部门经理' -> {'finance': '财务', 'manager': '部门经理'}."""
    mapping: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in spec.split(","))):
        role, sep, tag = pair.partition("=")
        if not sep or not tag.strip():
            raise ValidationFailed(f"WECOM_ROLE_TAGS: 需要 role=标签 / expected role=tag: {pair!r}")
        mapping[role_of(role)] = tag.strip()
    return mapping


# ------------------------------------------------------------------ staff by hand (CLI, admin)


def add_staff(
    session: Session,
    *,
    userid: str,
    name: str,
    roles: Sequence[str],
    department: str | None = None,
    manager: str | None = None,
) -> Staff:
    """Create a staff member; validates everything before writing anything."""
    userid, name = userid.strip(), name.strip()
    if not userid or len(userid) > 64 or any(c.isspace() for c in userid):
        raise ValidationFailed("userid 不能为空、不能含空格、最长 64 / invalid userid")
    if not name:
        raise ValidationFailed("姓名不能为空 / name is required")
    if not roles:
        raise ValidationFailed("至少需要一个角色 / at least one --role is required")
    wanted = [role_of(r) for r in roles]
    if session.scalar(select(Staff.id).where(Staff.userid == userid)) is not None:
        raise Conflict(f"用户 {userid} 已存在 / userid already exists")
    boss = _existing(session, manager, "上级 / manager") if manager else None
    dept = _department(session, department) if department else None
    person = Staff(userid=userid, name=name, department=dept, manager=boss, active=True)
    for role in wanted:
        person.add_role(role)
    session.add(person)
    session.flush()
    timeline.record(
        session,
        kind="updated",
        actor=None,
        body=f"新增员工 {name}({userid}),角色:{_roles_zh(person.roles)}",
        data={"staff": userid, "roles": sorted(person.roles)},
    )
    return person


def change_roles(session: Session, *, userid: str, changes: Iterable[str]) -> Staff:
    """Apply '+role' / '-role' changes (all validated first, then applied together)."""
    person = _existing(session, userid, "员工 / staff")
    parsed: list[tuple[str, str]] = []
    for change in changes:
        sign, word = change[:1], change[1:]
        if sign not in "+-" or not word:
            raise ValidationFailed(
                f"角色变更要写成 +角色 或 -角色 / expected +ROLE or -ROLE: {change!r}"
            )
        parsed.append((sign, role_of(word)))
    if not parsed:
        raise ValidationFailed("没有角色变更 / nothing to change (use +ROLE or -ROLE)")
    before = person.roles
    for sign, role in parsed:
        if sign == "+":
            person.add_role(role)
        else:
            person.remove_role(role)
    session.flush()
    if person.roles != before:
        timeline.record(
            session,
            kind="updated",
            actor=None,
            body=f"{person.name}({userid})角色:{_roles_zh(before)} → {_roles_zh(person.roles)}",
            data={"staff": userid, "before": sorted(before), "after": sorted(person.roles)},
        )
    return person


def list_staff(session: Session, *, role: str | None = None) -> list[Staff]:
    query = select(Staff).order_by(Staff.userid)
    staff = list(session.scalars(query))
    if role:
        wanted = role_of(role)
        staff = [s for s in staff if wanted in s.roles]
    return staff


def _existing(session: Session, userid: str, what: str) -> Staff:
    person = session.scalar(select(Staff).where(Staff.userid == userid.strip()))
    if person is None:
        raise NotFound(f"找不到{what} {userid}")
    return person


def _department(session: Session, name: str) -> Department:
    """The department with this name, created when it does not exist yet."""
    dept = session.scalar(select(Department).where(Department.name == name.strip()))
    if dept is None:
        dept = Department(name=name.strip()[:64])
        session.add(dept)
    return dept


def _roles_zh(roles: Iterable[str]) -> str:
    return "、".join(ROLE_NAMES_ZH[r] for r in ROLES if r in set(roles)) or "无"


# ------------------------------------------------------------------ WeCom directory sync


@dataclass(frozen=True)
class DeptSpec:
    wecom_id: int
    name: str
    parent_wecom_id: int | None
    head_userid: str | None


@dataclass(frozen=True)
class MemberSpec:
    userid: str
    name: str
    dept_wecom_id: int | None
    manager_userid: str | None
    active: bool
    roles: frozenset[str]
    mobile: str | None = None
    email: str | None = None


@dataclass
class DirectoryPlan:
    departments: list[DeptSpec]
    members: list[MemberSpec]
    managed_roles: frozenset[str]
    warnings: list[str] = field(default_factory=list)


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    departments: int = 0
    warnings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [
            f"部门 / departments: {self.departments}",
            f"新增 / created: {len(self.created)} {' '.join(self.created)}".rstrip(),
            f"更新 / updated: {len(self.updated)} {' '.join(self.updated)}".rstrip(),
            f"停用 / deactivated: {len(self.deactivated)} {' '.join(self.deactivated)}".rstrip(),
        ]
        return out + [f"注意 / warning: {w}" for w in self.warnings]


def plan_directory(
    departments: Sequence[Mapping[str, Any]],
    users: Sequence[Mapping[str, Any]],
    tags: Sequence[Mapping[str, Any]],
    tag_members: Mapping[int, tuple[Sequence[str], Sequence[int]]],
    role_tags: Mapping[str, str],
) -> DirectoryPlan:
    """Pure mapping of WeCom directory data to what OrderDesk should hold.

    `tag_members` maps a tag id to (userids, department ids) as tag/get returns them.
    """
    warnings: list[str] = []
    parents = {int(d["id"]): _int_or_none(d.get("parentid")) for d in departments}
    unique_users: dict[str, Mapping[str, Any]] = {}
    for user in users:
        unique_users.setdefault(str(user["userid"]), user)

    heads: dict[int, str] = {}
    for d in departments:
        leaders = [str(x) for x in d.get("department_leader") or [] if x]
        if leaders:
            heads[int(d["id"])] = leaders[0]
    for userid, user in unique_users.items():
        for dept_id, leader in zip(
            user.get("department") or [], user.get("is_leader_in_dept") or [], strict=False
        ):
            if leader:
                heads.setdefault(int(dept_id), userid)

    tag_ids = {str(t.get("tagname")): int(t["tagid"]) for t in tags}
    holders: dict[str, set[str]] = {}
    for role, tag_name in role_tags.items():
        tag_id = tag_ids.get(tag_name)
        if tag_id is None:
            warnings.append(f"企业微信没有标签「{tag_name}」(角色 {role}) / tag not found")
            holders[role] = set()
            continue
        userids, dept_ids = tag_members.get(tag_id, ((), ()))
        tagged_depts = set(_with_children({int(x) for x in dept_ids}, parents))
        holders[role] = {str(u) for u in userids} | {
            uid
            for uid, user in unique_users.items()
            if tagged_depts.intersection(int(x) for x in user.get("department") or [])
        }

    dept_specs = [
        DeptSpec(
            wecom_id=int(d["id"]),
            name=str(d.get("name") or d["id"])[:64],
            parent_wecom_id=parents[int(d["id"])],
            head_userid=heads.get(int(d["id"])),
        )
        for d in sorted(departments, key=lambda d: int(d["id"]))
    ]
    members = []
    for userid, user in sorted(unique_users.items()):
        main = _main_department(user)
        members.append(
            MemberSpec(
                userid=userid,
                name=str(user.get("name") or userid)[:64],
                dept_wecom_id=main,
                manager_userid=_manager(userid, user, main, heads, parents),
                active=int(user.get("status", 1) or 1) == 1,
                roles=frozenset(r for r, who in holders.items() if userid in who),
                mobile=str(user["mobile"])[:32] if user.get("mobile") else None,
                email=str(user["email"])[:128] if user.get("email") else None,
            )
        )
    return DirectoryPlan(dept_specs, members, frozenset(role_tags), warnings)


def _int_or_none(value: Any) -> int | None:
    return int(value) if value not in (None, "", 0, "0") else None


def _with_children(roots: set[int], parents: Mapping[int, int | None]) -> set[int]:
    found = set(roots)
    changed = True
    while changed:
        changed = False
        for dept, parent in parents.items():
            if parent in found and dept not in found:
                found.add(dept)
                changed = True
    return found


def _main_department(user: Mapping[str, Any]) -> int | None:
    if user.get("main_department"):
        return int(user["main_department"])
    depts = user.get("department") or []
    return int(depts[0]) if depts else None


def _manager(
    userid: str,
    user: Mapping[str, Any],
    dept: int | None,
    heads: Mapping[int, str],
    parents: Mapping[int, int | None],
) -> str | None:
    leaders = [str(x) for x in user.get("direct_leader") or [] if x and str(x) != userid]
    if leaders:
        return leaders[0]
    seen: set[int] = set()
    while dept is not None and dept not in seen:
        seen.add(dept)
        head = heads.get(dept)
        if head and head != userid:
            return head
        dept = parents.get(dept)
    return None


def apply_directory(session: Session, plan: DirectoryPlan) -> SyncReport:
    """Write the plan (in the caller's transaction: a failure changes nothing)."""
    report = SyncReport(departments=len(plan.departments), warnings=list(plan.warnings))
    by_wecom = {d.wecom_id: d for d in session.scalars(select(Department)) if d.wecom_id}
    for dspec in plan.departments:
        dept = by_wecom.get(dspec.wecom_id) or Department(wecom_id=dspec.wecom_id, name=dspec.name)
        dept.name, dept.head_userid = dspec.name, dspec.head_userid
        session.add(dept)
        by_wecom[dspec.wecom_id] = dept
    for dspec in plan.departments:
        parent = dspec.parent_wecom_id
        by_wecom[dspec.wecom_id].parent = by_wecom.get(parent) if parent else None

    staff = {s.userid: s for s in session.scalars(select(Staff))}
    seen: set[str] = set()
    for spec in plan.members:
        seen.add(spec.userid)
        person = staff.get(spec.userid)
        if person is None:
            person = Staff(userid=spec.userid, name=spec.name)
            session.add(person)
            staff[spec.userid] = person
            report.created.append(spec.userid)
        before = _snapshot(person)
        person.name, person.active = spec.name, spec.active
        person.department = by_wecom.get(spec.dept_wecom_id) if spec.dept_wecom_id else None
        person.mobile = spec.mobile or person.mobile
        person.email = spec.email or person.email
        for role in plan.managed_roles:
            if role in spec.roles:
                person.add_role(role)
            else:
                person.remove_role(role)
        if before is not None and before != _snapshot(person):
            report.updated.append(spec.userid)
    session.flush()
    for spec in plan.members:
        person = staff[spec.userid]
        boss = staff.get(spec.manager_userid) if spec.manager_userid else None
        if person.manager_id != (boss.id if boss else None):
            person.manager = boss
            if spec.userid not in report.created and spec.userid not in report.updated:
                report.updated.append(spec.userid)
    for userid, person in sorted(staff.items()):
        if userid not in seen and person.active and not person.has_role("admin"):
            person.active = False
            report.deactivated.append(userid)
    session.flush()
    timeline.record(
        session,
        kind="updated",
        actor=None,
        body=(
            f"通讯录同步:新增 {len(report.created)},更新 {len(report.updated)},"
            f"停用 {len(report.deactivated)}"
        ),
        data={"created": report.created, "deactivated": report.deactivated},
    )
    return report


def _snapshot(person: Staff) -> tuple[Any, ...] | None:
    if person.id is None:
        return None
    return (
        person.name,
        person.active,
        person.department_id if person.department is None else person.department.id,
        person.mobile,
        person.email,
        person.roles,
    )
