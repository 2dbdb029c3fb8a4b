"""Projects: hours validation and scope, tasks, milestone acceptance, the summary."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.core.errors import AlreadyDecided, NotFound, PermissionDenied, ValidationFailed
from orderdesk.directory.staff import get_active_staff
from orderdesk.models import Installment, Milestone, Order, Project, Task, TimeEntry
from orderdesk.orders.automation import on_order_approved
from orderdesk.projects import service as projects
from orderdesk.runtime import Runtime
from tests.approvals_world import build, make_order

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 2026-03-02 09:00 in Shanghai


def _project(rt: Runtime) -> None:
    with clock.frozen(T0), rt.db.transaction() as s:
        w = build(s)
        order = make_order(s, w)
        order.status = "approved"
        on_order_approved(s, order=order, actor=None)


def _hours(s: Session) -> list[Decimal]:
    return list(s.scalars(select(TimeEntry.hours).order_by(TimeEntry.id)))


def test_hours_validation(rt: Runtime) -> None:
    _project(rt)
    with clock.frozen(T0), rt.db.transaction() as s:
        dev1 = get_active_staff(s, "dev1")
        for bad in ["0", "-1", "24.01", "25", "abc", "1.234", "NaN", "", 1.5]:
            with pytest.raises(ValidationFailed) as err:
                projects.log_hours(s, actor=dev1, ref="PRJ-2026-0001", hours=bad)  # type: ignore[arg-type]
            assert "hours" in err.value.fields, bad
        assert s.scalar(select(func.count()).select_from(TimeEntry)) == 0


def test_log_hours_by_code_or_order_number(rt: Runtime) -> None:
    _project(rt)
    # 2026-03-02 23:30 in Shanghai is still the 2nd there (15:30 UTC)
    with clock.frozen(datetime(2026, 3, 2, 15, 30, tzinfo=UTC)), rt.db.transaction() as s:
        dev1 = get_active_staff(s, "dev1")
        e1 = projects.log_hours(s, actor=dev1, ref="prj-2026-0001", hours="7.5", note="部署")
        e2 = projects.log_hours(s, actor=dev1, ref="SO-2026-0001", hours=Decimal("24") - 7 - 8)
        assert e1.work_date == date(2026, 3, 2) and e2.work_date == date(2026, 3, 2)
        assert _hours(s) == [Decimal("7.50"), Decimal("9.00")]
        # a day's total cannot pass 24 hours
        with pytest.raises(ValidationFailed, match="24"):
            projects.log_hours(s, actor=dev1, ref="SO-2026-0001", hours="8")
        with pytest.raises(ValidationFailed):
            projects.log_hours(
                s, actor=dev1, ref="SO-2026-0001", hours="1", work_date=date(2026, 3, 3)
            )
        # yesterday is fine
        projects.log_hours(s, actor=dev1, ref="SO-2026-0001", hours="2", work_date=date(2026, 3, 1))


def test_only_members_and_managers_log_hours(rt: Runtime) -> None:
    _project(rt)
    with clock.frozen(T0), rt.db.transaction() as s:
        with pytest.raises(NotFound):
            projects.log_hours(s, actor=get_active_staff(s, "fin1"), ref="SO-2026-0001", hours="1")
        with pytest.raises(NotFound):
            projects.log_hours(s, actor=get_active_staff(s, "dev1"), ref="SO-404", hours="1")
        for userid in ("pm1", "sales1", "mgr1", "boss"):
            projects.log_hours(s, actor=get_active_staff(s, userid), ref="SO-2026-0001", hours="1")
        assert len(_hours(s)) == 4


def test_update_task_and_summary(rt: Runtime) -> None:
    _project(rt)
    with clock.frozen(T0), rt.db.transaction() as s:
        project = projects.find_project(s, "PRJ-2026-0001")
        first = project.tasks[0]
        dev1 = get_active_staff(s, "dev1")
        with pytest.raises(ValidationFailed):
            projects.update_task(s, actor=dev1, task_id=first.id, status="finished?")
        task = projects.update_task(s, actor=dev1, task_id=first.id, status="完成")
        assert task.status == "done" and task.done_at == T0
        projects.log_hours(s, actor=dev1, ref=project.code, hours="3.25")
    # three weeks later: 部署上线 (due 03-22) is overdue, 客户培训 (04-01) is not
    with clock.frozen(T0 + timedelta(days=21)), rt.db.transaction() as s:
        project = projects.find_project(s, "PRJ-2026-0001")
        summary = projects.project_summary(s, project)
        assert (summary.tasks_done, summary.tasks_total, summary.percent_done) == (1, 3, 33)
        assert summary.hours_total == Decimal("3.25")
        assert summary.next_milestone == "上线"
        assert summary.next_milestone_due == date(2026, 3, 23)
        assert summary.overdue_tasks == ["部署上线"]
        assert "33%" in summary.text


def test_accept_milestone_makes_the_installment_due(rt: Runtime) -> None:
    _project(rt)
    with clock.frozen(T0 + timedelta(days=40)), rt.db.transaction() as s:
        project = s.scalar(select(Project))
        assert project is not None
        final = next(m for m in project.milestones if m.name == "验收")
        with pytest.raises(PermissionDenied):
            projects.accept_milestone(
                s,
                actor=get_active_staff(s, "dev1"),
                project_code=project.code,
                milestone_id=final.id,
            )
        done = projects.accept_milestone(
            s, actor=get_active_staff(s, "pm1"), project_code=project.code, milestone_id=final.id
        )
        assert done.status == "accepted" and done.accepted_at == T0 + timedelta(days=40)
        inst = s.scalar(select(Installment).where(Installment.name == "验收款"))
        assert inst is not None
        assert inst.due_date == date(2026, 4, 11) + timedelta(days=15)
        with pytest.raises(AlreadyDecided, match="孙项目"):
            projects.accept_milestone(
                s,
                actor=get_active_staff(s, "sales1"),
                project_code=project.code,
                milestone_id=final.id,
            )
        assert s.scalar(select(func.count()).select_from(Milestone)) == 2
        assert s.scalar(select(Order.status)) == "approved"
        assert s.scalar(select(func.count()).select_from(Task)) == 3
