"""Demo projects: tasks and milestones placed so that "today" falls where the order's status
says (approved: not started; in progress: part done; delivered and later: all done), plus
timesheets and progress notes."""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from orderdesk.demo import data
from orderdesk.models import Contract, Milestone, Order, Project, Staff, Task, TimeEntry
from orderdesk.money.plans import cents
from orderdesk.projects.service import project_code_for

if TYPE_CHECKING:
    from orderdesk.demo.company import DemoWorld
    from orderdesk.demo.orders import Story


def build_project(w: DemoWorld, order: Order, story: Story, contract: Contract) -> Project:
    """Tasks and milestones placed so that 'today' falls where the order's status says."""
    rng = w.rng
    template = order.order_type.project_template
    assert template is not None and contract.signed_date is not None
    start = contract.signed_date + timedelta(days=2)
    span = max(int(x["offset_days"]) for x in [*template.tasks, *template.milestones])
    elapsed = max((w.today - start).days, 1)
    progress = {"approved": 0.0, "in_progress": rng.uniform(0.35, 0.8)}.get(order.status, 1.0)
    if progress == 0:
        scale = 1.0
    elif progress < 1:  # today sits at `progress` of the schedule
        scale = elapsed / (span * progress)
    else:  # finished a while ago
        scale = 0.85 * elapsed / span

    def due(offset: int) -> date:
        return start + timedelta(days=max(1, math.floor(offset * scale)))

    pm = w.staff[rng.choice(data.PM_USERIDS)]
    project = Project(
        code=project_code_for(order),
        name=order.title,
        order=order,
        pm=pm,
        status={"accepted": "completed", "closed": "closed"}.get(order.status, "active"),
        start_date=start,
        end_date=due(span),
        budget=cents(order.amount * Decimal("0.55")),
        created_at=w.at(min(start, w.today)),
        updated_at=w.at(min(start, w.today)),
    )
    story.add(project.created_at, "status", pm, f"项目 {project.code} 已创建,项目经理 {pm.name}")
    team = [w.staff[u] for u in rng.sample(data.DELIVERY_USERIDS, 2)]
    for spec in template.tasks:
        task_due = due(int(spec["offset_days"]))
        owner = pm if spec.get("owner_role") == "pm" else rng.choice(team)
        done = order.status != "approved" and task_due < w.today
        state = "done" if done else "todo"
        if not done and order.status == "in_progress" and task_due <= w.today + timedelta(14):
            state = "doing"
        project.tasks.append(
            Task(
                title=str(spec["title"]),
                owner=owner,
                owner_role=spec.get("owner_role"),
                due_date=task_due,
                status=state,
                done_at=w.at(task_due, 17) if done else None,
            )
        )
    last = len(template.milestones)
    for n, spec in enumerate(template.milestones, start=1):
        m_due = due(int(spec["offset_days"]))
        accepted = (order.status in ("in_progress", "accepted", "closed") and m_due < w.today) or (
            order.status == "delivered" and n < last
        )
        milestone = Milestone(
            sequence=n,
            name=str(spec["name"]),
            due_date=m_due,
            status="accepted" if accepted else "pending",
            accepted_at=w.at(m_due, 16) if accepted else None,
            accepted_by_id=pm.id if accepted else None,
        )
        project.milestones.append(milestone)
        if accepted:
            story.add(w.at(m_due, 16), "milestone", pm, f"里程碑「{milestone.name}」已验收")
    if order.status != "approved":
        _timesheets(w, project, [pm, *team])
        for note in rng.sample(data.PROGRESS_NOTES, 2):
            day = start + timedelta(days=rng.randint(0, max(0, min(elapsed, span) - 1)))
            story.add(w.at(min(day, w.today), 18), "progress", pm, note, internal=False)
    if order.status in ("delivered", "accepted", "closed"):
        story.add(w.at(due(span), 17), "status", pm, "项目已交付")
    w.session.add(project)
    return project


def _timesheets(w: DemoWorld, project: Project, people: list[Staff]) -> None:
    rng = w.rng
    assert project.start_date is not None and project.end_date is not None
    last = min(project.end_date, w.today)
    days = max((last - project.start_date).days, 0)
    for _ in range(rng.randint(3, 8)):
        person = rng.choice(people)
        project.time_entries.append(
            TimeEntry(
                staff=person,
                task=rng.choice(project.tasks),
                work_date=project.start_date + timedelta(days=rng.randint(0, days)),
                hours=Decimal(rng.choice([2, 4, 6, 8])),
                billable=rng.random() < 0.85,
                note=rng.choice(data.TIMESHEET_NOTES),
            )
        )
