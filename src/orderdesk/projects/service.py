"""Projects created from approved orders: tasks, milestones, hours and a progress summary."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.core.errors import (
    AlreadyDecided,
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from orderdesk.core.locks import lock_row
from orderdesk.core.parsing import parse_decimal
from orderdesk.directory.staff import staff_with_role
from orderdesk.models import Milestone, Order, Project, Staff, Task, TimeEntry
from orderdesk.money import plans as payment_plans
from orderdesk.orders import timeline

TASK_STATUSES = {"todo": "待办", "doing": "进行中", "done": "已完成"}
TASK_STATUS_ALIASES = {
    **{k: k for k in TASK_STATUSES},
    **{v: k for k, v in TASK_STATUSES.items()},
    "待处理": "todo",
    "进行": "doing",
    "完成": "done",
    "in_progress": "doing",
}
MAX_HOURS = Decimal("24")
PM_FIELD_KEYS = ("pm", "pm_userid", "project_manager")


def project_code_for(order: Order) -> str:
    """PRJ-2026-0001 from SO-2026-0001 (the numeric tail of the order number)."""
    match = re.search(r"\d.*$", order.number)
    tail = match.group(0) if match else order.number
    return f"PRJ-{tail}"[:32]


def _pick(candidates: list[Staff], order: Order) -> Staff | None:
    """Deterministic choice: same department as the order's owner first, spread by order id."""
    if not candidates:
        return None
    same = [s for s in candidates if s.department_id == order.owner.department_id]
    pool = same or candidates
    return pool[order.id % len(pool)]


def pick_pm(session: Session, order: Order) -> Staff | None:
    """The order's PM custom field (a userid) when set and valid, else a staff with role pm."""
    for key in PM_FIELD_KEYS:
        userid = (order.custom_fields or {}).get(key)
        if isinstance(userid, str) and userid.strip():
            named = session.scalar(
                select(Staff).where(Staff.userid == userid.strip(), Staff.active.is_(True))
            )
            if named is not None:
                return named
    return _pick(staff_with_role(session, "pm"), order)


def _owner_for_role(session: Session, role: str | None, order: Order, pm: Staff | None) -> Staff:
    if role == "pm" and pm is not None:
        return pm
    if not role or role == "sales" or order.owner.has_role(role):
        return order.owner
    return _pick(staff_with_role(session, role), order) or pm or order.owner


def _offset(raw: object) -> int:
    try:
        return int(str(raw or 0))
    except ValueError:
        return 0


def create_from_order(session: Session, order: Order) -> Project:
    """The order's project from its type's template (idempotent: one project per order)."""
    existing = session.scalar(select(Project).where(Project.order_id == order.id))
    if existing is not None:
        return existing
    start = clock.today(clock.company_tz(session))
    pm = pick_pm(session, order)
    code = project_code_for(order)
    if session.scalar(select(Project.id).where(Project.code == code)) is not None:
        code = f"{code[:24]}-{order.id}"
    project = Project(
        code=code,
        name=(order.title or f"{order.customer.name} {order.order_type.name}")[:200],
        order=order,
        pm=pm,
        status="active",
        start_date=start,
        budget=order.amount,
    )
    session.add(project)
    template = order.order_type.project_template
    if template is not None:
        for spec in template.tasks or []:
            role = spec.get("owner_role")
            project.tasks.append(
                Task(
                    title=str(spec.get("title", "任务"))[:200],
                    owner_role=role,
                    owner=_owner_for_role(session, role, order, pm),
                    due_date=start + timedelta(days=_offset(spec.get("offset_days"))),
                    status="todo",
                )
            )
        for seq, spec in enumerate(template.milestones or [], start=1):
            project.milestones.append(
                Milestone(
                    sequence=seq,
                    name=str(spec.get("name", f"里程碑{seq}"))[:64],
                    due_date=start + timedelta(days=_offset(spec.get("offset_days"))),
                    status="pending",
                )
            )
        due = [m.due_date for m in project.milestones if m.due_date] + [
            t.due_date for t in project.tasks if t.due_date
        ]
        project.end_date = max(due) if due else None
    session.flush()
    timeline.record(
        session,
        kind="created",
        actor=None,
        body=f"已创建项目 {project.code}(项目经理:{pm.name if pm else '待定'},"
        f"任务 {len(project.tasks)} 项,里程碑 {len(project.milestones)} 个)",
        order=order,
        project=project,
        data={"project_code": project.code},
    )
    return project


def members(project: Project) -> list[Staff]:
    """PM, the order's owner, task owners, then people added to the team (stable order, no
    duplicates)."""
    people: list[Staff] = []
    added = [m.staff for m in project.added_members]
    for person in [project.pm, project.order.owner, *(t.owner for t in project.tasks), *added]:
        if person is not None and person not in people:
            people.append(person)
    return people


def find_project(session: Session, ref: str, *, actor: Staff | None = None) -> Project:
    """A project by its code or by its order's number; with `actor`, only one they belong to
    (else the same NotFound as a wrong reference, echoing only what they typed)."""
    ref = (ref or "").strip().upper()
    project = session.scalar(
        select(Project).join(Order).where(or_(Project.code == ref, Order.number == ref))
    )
    if project is None or (actor is not None and not _is_member(actor, project)):
        raise NotFound(f"找不到项目或订单 {ref}")
    return project


def _is_manager_of(actor: Staff, project: Project) -> bool:
    if actor.has_role("gm", "admin"):
        return True
    owner = project.order.owner
    return actor.has_role("manager") and (
        owner.manager_id == actor.id
        or (actor.department_id is not None and owner.department_id == actor.department_id)
    )


def _is_member(actor: Staff, project: Project) -> bool:
    return actor in members(project) or _is_manager_of(actor, project)


def _require_member(actor: Staff, project: Project, not_found: str) -> None:
    if not _is_member(actor, project):
        # Not a member: the project does not exist for them (same answer as a wrong reference).
        raise NotFound(not_found)


def _hours(raw: Decimal | str | int) -> Decimal:
    if isinstance(raw, float):
        raise ValidationFailed("工时需为精确数值", fields={"hours": "格式错误"})
    hours = parse_decimal(raw)
    if hours is None:
        raise ValidationFailed(f"工时「{str(raw)[:20]}」不是数字", fields={"hours": "格式错误"})
    if hours <= 0 or hours > MAX_HOURS:
        raise ValidationFailed("工时需大于 0 且不超过 24 小时", fields={"hours": "0 < 工时 ≤ 24"})
    if hours != hours.quantize(Decimal("0.01")):
        raise ValidationFailed("工时最多两位小数", fields={"hours": "最多两位小数"})
    return hours.quantize(Decimal("0.01"))


def log_hours(
    session: Session,
    *,
    actor: Staff,
    ref: str,
    hours: Decimal | str | int,
    note: str | None = None,
    work_date: date | None = None,
    task_id: int | None = None,
) -> TimeEntry:
    """Record hours on a project (by project code or order number); today in company time."""
    amount = _hours(hours)
    project = find_project(session, ref, actor=actor)
    today = clock.today(clock.company_tz(session))
    day = work_date or today
    if day > today:
        raise ValidationFailed("不能登记未来日期的工时", fields={"work_date": "不能晚于今天"})
    # The day's total is read and the entry written under the person's row lock: parallel
    # entries for one person queue here, so the cap holds (core.locks).
    lock_row(session, Staff, actor.id)
    already = session.scalar(
        select(func.coalesce(func.sum(TimeEntry.hours), 0)).where(
            TimeEntry.staff_id == actor.id, TimeEntry.work_date == day
        )
    )
    if Decimal(str(already)) + amount > MAX_HOURS:
        raise ValidationFailed(
            f"{day} 已登记 {Decimal(str(already)):.2f} 小时,单日合计不能超过 24 小时",
            fields={"hours": "单日超过 24 小时"},
        )
    task = None
    if task_id is not None:
        task = session.get(Task, task_id)
        if task is None or task.project_id != project.id:
            raise ValidationFailed("任务不属于该项目", fields={"task_id": "不存在"})
    entry = TimeEntry(
        staff=actor,
        project=project,
        task=task,
        work_date=day,
        hours=amount,
        note=(note or "").strip() or None,
    )
    session.add(entry)
    timeline.record(
        session,
        kind="hours",
        actor=actor,
        body=f"{actor.name} 登记工时 {amount} 小时({day})"
        + (f":{entry.note}" if entry.note else ""),
        project=project,
        data={"hours": str(amount), "work_date": day.isoformat()},
    )
    session.flush()
    return entry


def update_task(session: Session, *, actor: Staff, task_id: int, status: str) -> Task:
    """Move a task between 待办 / 进行中 / 已完成 (project members and their managers)."""
    to = TASK_STATUS_ALIASES.get((status or "").strip().lower()) or TASK_STATUS_ALIASES.get(
        (status or "").strip()
    )
    if to is None:
        raise ValidationFailed(
            "任务状态只能是 待办 / 进行中 / 已完成", fields={"status": "todo/doing/done"}
        )
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound(f"找不到任务 {task_id}")
    project = task.project
    _require_member(actor, project, f"找不到任务 {task_id}")
    if task.status == to:
        return task
    before = task.status
    task.status = to
    task.done_at = clock.now() if to == "done" else None
    timeline.record(
        session,
        kind="task",
        actor=actor,
        body=f"任务「{task.title}」:{TASK_STATUSES[before]} → {TASK_STATUSES[to]}",
        project=project,
        data={"task_id": task.id, "from": before, "to": to},
    )
    session.flush()
    return task


def accept_milestone(
    session: Session, *, actor: Staff, project_code: str, milestone_id: int
) -> Milestone:
    """The customer accepted a milestone: record it and let the payment plan react."""
    project = find_project(session, project_code, actor=actor)
    if not (actor.id in (project.pm_id, project.order.owner_id) or _is_manager_of(actor, project)):
        raise PermissionDenied("只有项目经理、订单负责人或经理可以确认里程碑验收")
    milestone = session.get(Milestone, milestone_id)
    if milestone is None or milestone.project_id != project.id:
        raise NotFound(f"项目 {project.code} 没有这个里程碑")
    if milestone.status == "accepted" and milestone.accepted_at is not None:
        who = milestone_acceptor(session, milestone)
        local = milestone.accepted_at.astimezone(clock.company_tz(session))
        raise AlreadyDecided(f"里程碑「{milestone.name}」已由 {who} 于 {local:%m-%d %H:%M} 验收")
    require_signoffs(milestone)
    milestone.status = "accepted"
    milestone.accepted_at = clock.now()
    milestone.accepted_by_id = actor.id
    timeline.record(
        session,
        kind="milestone",
        actor=actor,
        body=f"里程碑「{milestone.name}」已验收(确认人:{actor.name})",
        project=project,
        data={"milestone_id": milestone.id},
    )
    session.flush()
    hook = getattr(payment_plans, "on_milestone_accepted", None)
    if hook is not None:
        hook(session, milestone)
    return milestone


def require_signoffs(milestone: Milestone) -> None:
    """A milestone that requires the client's sign-off is accepted only when every one of its
    deliverables has a current version the client confirmed (issue 15)."""
    if not milestone.requires_signoff:
        return
    if not milestone.deliverables:
        raise Conflict(f"里程碑「{milestone.name}」需客户确认交付物,但还没有交付物")
    waiting = [
        d.name
        for d in milestone.deliverables
        if not any(v.superseded_at is None and v.signoff_status == "approved" for v in d.versions)
    ]
    if waiting:
        raise Conflict(
            f"里程碑「{milestone.name}」需客户确认交付物后才能验收,尚未确认:{'、'.join(waiting)}"
        )


def milestone_acceptor(session: Session, milestone: Milestone) -> str:
    person = session.get(Staff, milestone.accepted_by_id) if milestone.accepted_by_id else None
    return person.name if person else "他人"


@dataclass
class ProjectSummary:
    code: str
    name: str
    status: str
    pm_name: str | None
    tasks_total: int
    tasks_done: int
    percent_done: int
    next_milestone: str | None
    next_milestone_due: date | None
    hours_total: Decimal
    overdue_tasks: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """A short Chinese summary for chat replies."""
        lines = [
            f"项目 {self.code} {self.name}",
            f"进度:{self.percent_done}%({self.tasks_done}/{self.tasks_total} 项任务完成)",
            f"项目经理:{self.pm_name or '待定'}",
            f"工时合计:{self.hours_total} 小时",
        ]
        if self.next_milestone:
            lines.append(f"下一个里程碑:{self.next_milestone}({self.next_milestone_due or '未定'})")
        if self.overdue_tasks:
            lines.append(f"逾期任务:{'、'.join(self.overdue_tasks)}")
        return "\n".join(lines)


def project_summary(session: Session, project: Project) -> ProjectSummary:
    today = clock.today(clock.company_tz(session))
    tasks = list(project.tasks)
    done = sum(1 for t in tasks if t.status == "done")
    percent = (done * 100 // len(tasks)) if tasks else 0
    upcoming = [m for m in project.milestones if m.status != "accepted"]
    upcoming.sort(key=lambda m: (m.due_date or date.max, m.sequence))
    hours = session.scalar(
        select(func.coalesce(func.sum(TimeEntry.hours), 0)).where(
            TimeEntry.project_id == project.id
        )
    )
    overdue = [
        t.title
        for t in tasks
        if t.status != "done" and t.due_date is not None and t.due_date < today
    ]
    return ProjectSummary(
        code=project.code,
        name=project.name,
        status=project.status,
        pm_name=project.pm.name if project.pm else None,
        tasks_total=len(tasks),
        tasks_done=done,
        percent_done=percent,
        next_milestone=upcoming[0].name if upcoming else None,
        next_milestone_due=upcoming[0].due_date if upcoming else None,
        hours_total=Decimal(str(hours)).quantize(Decimal("0.01")),
        overdue_tasks=overdue,
    )
