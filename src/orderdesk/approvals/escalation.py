"""Reminders and escalation for approval steps that wait too long (per-flow N and M hours).

A step waiting longer than `flow.remind_after_hours` reminds each pending approver once
(`reminded_at`); after `flow.escalate_after_hours` each late approver's manager is added to the
same step as an approver and notified (`escalated_at` on the late one). Safe to run as often as
the scheduler likes: the timestamps and outbox keys make every notice happen once.

Nobody is chased outside business hours (working days of China's calendar, BUSINESS_HOURS): the
sweep waits for the next window. Reminders and escalation notices are batched per person: one
message listing everything that waits for them, not one message per order.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.approvals import messages as notify
from orderdesk.approvals.delegation import substitutes_of
from orderdesk.core import clock
from orderdesk.core.workdays import in_business_hours
from orderdesk.models import ApprovalAssignment, ApprovalRequest, Staff
from orderdesk.orders import timeline


@dataclass
class SweepResult:
    reminded: int = 0
    escalated: int = 0
    closed: int = 0


def _close_stale(request: ApprovalRequest, now: datetime) -> None:
    """The order left approval without a decision (cancelled): nothing is waiting any more."""
    request.status = "withdrawn"
    request.decided_at = now
    for a in request.assignments:
        if a.status == "pending":
            a.status = "cancelled"
            a.decided_at = now


def _left_approval(request: ApprovalRequest) -> bool:
    """The subject moved on without a decision: the order left approval, or the change request
    is no longer pending."""
    if request.kind == "change":
        change = request.change_request
        return change is None or change.status != "pending"
    return request.order.status != "pending_approval"


def _escalate(
    session: Session, request: ApprovalRequest, late: ApprovalAssignment, now: datetime
) -> Staff | None:
    """Add the late approver's manager to the step; the manager (to notify) or None."""
    manager: Staff | None = late.approver.manager
    late.escalated_at = now
    if manager is None or not manager.active or manager.id == request.order.owner_id:
        return None
    already = session.scalar(
        select(ApprovalAssignment).where(
            ApprovalAssignment.request_id == request.id,
            ApprovalAssignment.step_sequence == late.step_sequence,
            ApprovalAssignment.approver_id == manager.id,
        )
    )
    if already is None:
        added = ApprovalAssignment(
            request=request,
            step_sequence=late.step_sequence,
            approver=manager,
            status="pending",
            created_at=now,
        )
        session.add(added)
        session.flush()
        subs = [x for x in substitutes_of(session, manager) if x.id != request.order.owner_id]
        notify.approval_card(session, request.order, request, added, substitutes=subs)
    timeline.record(
        session,
        kind="approval",
        actor=None,
        body=f"审批超时:{late.approver.name} 未处理,已升级给 {manager.name}",
        order=request.order,
        data={"request_id": request.id, "event": "escalated", "to": manager.userid},
    )
    return manager


def remind_and_escalate(session: Session, *, now: datetime | None = None) -> SweepResult:
    """One sweep over every pending request (the caller owns the transaction)."""
    now = now or clock.now()
    result = SweepResult()
    requests = session.scalars(
        select(ApprovalRequest)
        .where(ApprovalRequest.status == "pending")
        .order_by(ApprovalRequest.id)
        .with_for_update(skip_locked=True)
    ).all()
    # Outside business hours nobody is pinged (13 messages to the GM at 00:48 was the bug):
    # what is due waits for the next sweep inside the window.
    quiet = not in_business_hours(now, clock.settings_of(session))
    reminders: dict[int, list[ApprovalAssignment]] = defaultdict(list)
    escalations: dict[int, list[tuple[Staff, ApprovalAssignment]]] = defaultdict(list)
    for request in requests:
        if _left_approval(request):
            _close_stale(request, now)
            result.closed += 1
        elif not quiet:
            _sweep_request(session, request, now, result, reminders, escalations)
    for waiting in reminders.values():
        subs = substitutes_of(
            session, waiting[0].approver, now.astimezone(clock.company_tz(session)).date()
        )
        notify.approval_reminders(session, waiting, now=now, substitutes=subs)
    for items in escalations.values():
        notify.escalation_notices(session, items[0][0], [late for _, late in items])
    session.flush()
    return result


def _sweep_request(
    session: Session,
    request: ApprovalRequest,
    now: datetime,
    result: SweepResult,
    reminders: dict[int, list[ApprovalAssignment]],
    escalations: dict[int, list[tuple[Staff, ApprovalAssignment]]],
) -> None:
    """Escalate or remind each open assignment of the current step (notices are collected per
    person by the caller and sent batched)."""
    waited = now - request.step_started_at
    flow = request.flow
    remind_after = timedelta(hours=flow.remind_after_hours)
    escalate_after = timedelta(hours=flow.escalate_after_hours)
    open_now = [
        a
        for a in request.assignments
        if a.status == "pending" and a.step_sequence == request.current_step
    ]
    for a in open_now:
        if waited >= escalate_after and a.escalated_at is None:
            manager = _escalate(session, request, a, now)
            if manager is not None:
                escalations[manager.id].append((manager, a))
                result.escalated += 1
        elif waited >= remind_after and a.reminded_at is None and a.escalated_at is None:
            a.reminded_at = now
            reminders[a.approver_id].append(a)
            result.reminded += 1
