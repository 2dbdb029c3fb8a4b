"""Approvals: submit an order, see what waits for me, decide, withdraw, delegate.

Flow selection lives in `approval_flows`, the decision engine in `approval_decisions`,
delegation in `approval_delegation`, reminders/escalation in `approval_escalation`. This module
is the one entry point chat commands, the mini-app API and jobs call.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.approvals.decisions import DecisionResult, decide
from orderdesk.approvals.delegation import cancel_delegation, delegators_of, set_delegation
from orderdesk.approvals.flows import select_flow, snapshot_steps
from orderdesk.approvals.requests import (
    already_decided_error,
    cancel_open_assignments,
    create_step_assignments,
    lock_request,
    pending_request,
)
from orderdesk.core import clock
from orderdesk.core.errors import IllegalTransition, PermissionDenied
from orderdesk.models import ApprovalAssignment, ApprovalRequest, Order, Staff
from orderdesk.models.staff import MANAGING_ROLES
from orderdesk.orders import timeline
from orderdesk.orders.common import flush_or_conflict
from orderdesk.orders.queries import get_order
from orderdesk.orders.states import SYSTEM, apply_status, check

__all__ = [
    "DecisionResult",
    "cancel_delegation",
    "create_step_assignments",
    "current_step_label",
    "decide",
    "pending_for",
    "set_delegation",
    "step_label",
    "submit",
    "withdraw",
]


def load_order(session: Session, *, actor: Staff, number: str) -> Order:
    """The order by number within the actor's scope (out of scope reads as missing)."""
    return get_order(session, actor=actor, number=number)


def submit(session: Session, *, actor: Staff, number: str) -> ApprovalRequest:
    """draft -> pending_approval: pick the flow, snapshot its steps, card the first approvers."""
    order = load_order(session, actor=actor, number=number)
    is_manager = actor.has_role(*MANAGING_ROLES)
    if order.owner_id != actor.id and not is_manager:
        raise PermissionDenied("只有订单负责人或经理可以提交审批")
    if order.status == "pending_approval":
        raise IllegalTransition(f"订单 {order.number} 已在审批中")
    # Say what the state allows before talking about flows (e.g. an approved order).
    check(order, "pending_approval", who=SYSTEM, reason=None)
    flow = select_flow(session, order)
    snapshot = snapshot_steps(session, flow, order)
    now = clock.now()
    request = ApprovalRequest(
        order=order,
        flow=flow,
        status="pending",
        steps_snapshot=snapshot,
        current_step=1,
        step_started_at=now,
        submitted_by=actor,
    )
    session.add(request)
    apply_status(session, order, "pending_approval", actor)
    flush_or_conflict(session, order)
    create_step_assignments(session, order, request, 1)
    steps = " → ".join(s["name"] for s in snapshot)
    timeline.record(
        session,
        kind="approval",
        actor=actor,
        body=f"{actor.name} 提交审批,流程「{flow.name}」:{steps}",
        order=order,
        data={"request_id": request.id, "flow": flow.code, "event": "submitted"},
    )
    return request


def pending_for(session: Session, *, actor: Staff) -> list[ApprovalAssignment]:
    """Open assignments the actor may decide now: their own and those of people who delegated
    to them today. Oldest first."""
    people = [actor.id] + [s.id for s in delegators_of(session, actor)]
    items = list(
        session.scalars(
            select(ApprovalAssignment)
            .join(ApprovalRequest, ApprovalRequest.id == ApprovalAssignment.request_id)
            .join(Order, Order.id == ApprovalRequest.order_id)
            .where(
                # an order request waits while its order is in approval; a change request
                # while the change itself is pending (the engine closes it otherwise)
                (Order.status == "pending_approval") | (ApprovalRequest.kind == "change"),
                ApprovalAssignment.approver_id.in_(people),
                ApprovalAssignment.status == "pending",
                ApprovalRequest.status == "pending",
                ApprovalAssignment.step_sequence == ApprovalRequest.current_step,
            )
            .order_by(ApprovalAssignment.created_at, ApprovalAssignment.id)
        )
    )
    # a substitute never sees (or decides) their own order on someone else's behalf
    return [a for a in items if a.approver_id == actor.id or a.request.order.owner_id != actor.id]


def withdraw(
    session: Session, *, actor: Staff, number: str, reason: str | None = None
) -> ApprovalRequest:
    """The submitter (or the order's owner) takes a pending request back; the order is a draft
    again and the approvers' cards are greyed out."""
    order = load_order(session, actor=actor, number=number)
    request = pending_request(session, order)
    if request is None:
        raise IllegalTransition(f"订单 {order.number} 没有进行中的审批,无需撤回")
    request = lock_request(session, request.id)
    if request.status != "pending":
        raise already_decided_error(session, request)
    if actor.id not in (request.submitted_by_id, order.owner_id):
        raise PermissionDenied("只有提交人可以撤回审批")
    cancel_open_assignments(session, request, actor, clock.now())
    why = (reason or "").strip() or f"{actor.name} 撤回审批"
    apply_status(session, order, "draft", actor, reason=why)
    timeline.record(
        session,
        kind="approval",
        actor=actor,
        body=f"{actor.name} 撤回了审批" + (f"(原因:{reason.strip()})" if reason else ""),
        order=order,
        data={"request_id": request.id, "event": "withdrawn"},
    )
    flush_or_conflict(session, order)
    return request


def current_step_label(
    session: Session, order: Order, pending: ApprovalRequest | None = None
) -> str | None:
    """ "第2/3步 财务(等待:王五、赵六)" for an order in approval, else None. `pending`: the
    order's pending request when the caller has it already."""
    request = pending or pending_request(session, order)
    return step_label(session, request) if request is not None else None


def step_label(session: Session, request: ApprovalRequest) -> str | None:
    """The same label for one request (an order's or a change request's), None once decided."""
    if request.status != "pending":
        return None
    step = request.steps_snapshot[request.current_step - 1]
    waiting = session.scalars(
        select(Staff.name)
        .join(ApprovalAssignment, ApprovalAssignment.approver_id == Staff.id)
        .where(
            ApprovalAssignment.request_id == request.id,
            ApprovalAssignment.step_sequence == request.current_step,
            ApprovalAssignment.status == "pending",
        )
        .order_by(Staff.userid)
    ).all()
    label = f"第{request.current_step}/{len(request.steps_snapshot)}步 {step['name']}"
    if waiting:
        label += f"(等待:{'、'.join(waiting)})"
    return label


def requests_of(session: Session, order: Order, kind: str = "order") -> list[ApprovalRequest]:
    """Every request of the order, newest first (the approval history); change requests'
    approvals (kind="change") have their own history on the change."""
    return list(
        session.scalars(
            select(ApprovalRequest)
            .where(ApprovalRequest.order_id == order.id, ApprovalRequest.kind == kind)
            .order_by(ApprovalRequest.id.desc())
        )
    )
