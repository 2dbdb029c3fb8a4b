"""The decision engine: exactly one outcome per step, however often or concurrently people click.

Why it is safe: `decide` first takes the request's row lock (SELECT ... FOR UPDATE on PostgreSQL;
on SQLite a no-op UPDATE that takes the database write lock before anything is read), then
re-reads the request and its assignments, and finally flips the chosen assignment with a
conditional UPDATE (`status = 'pending'` in the WHERE clause). A second decision, duplicate
or concurrent, waits for the first to commit and then finds the step already decided:
AlreadyDecided("已由 X 于 HH:MM 审批"), and nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from orderdesk.approvals import messages as notify
from orderdesk.approvals.delegation import delegators_of
from orderdesk.approvals.requests import (
    already_decided_error,
    create_step_assignments,
    late_error,
    latest_request,
    lock_request,
    pending_request,
    subject_label,
)
from orderdesk.core import clock
from orderdesk.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from orderdesk.directory.permissions import can_see_order
from orderdesk.models import ApprovalAction, ApprovalAssignment, ApprovalRequest, Order, Staff
from orderdesk.orders import timeline
from orderdesk.orders.automation import on_order_approved
from orderdesk.orders.changes.outcome import on_change_approved, on_change_rejected
from orderdesk.orders.common import flush_or_conflict
from orderdesk.orders.states import apply_status

__all__ = [
    "DecisionResult",
    "already_decided_error",
    "create_step_assignments",
    "decide",
    "lock_request",
    "pending_request",
    "visible_request",
]

DECISIONS = {"approve": "approved", "reject": "rejected"}
NOT_FOUND_REQUEST = "找不到该审批"
DECISION_ALIASES = {
    "approve": "approve",
    "同意": "approve",
    "通过": "approve",
    "approved": "approve",
    "reject": "reject",
    "驳回": "reject",
    "拒绝": "reject",
    "rejected": "reject",
}


@dataclass
class DecisionResult:
    """What happened, for the reply: the handler shows `message` and may update the clicked
    card's button to `replace_name`."""

    request: ApprovalRequest
    assignment: ApprovalAssignment
    action: ApprovalAction
    decision: str
    step_finished: bool
    request_finished: bool
    order_status: str
    message: str
    replace_name: str
    updated_cards: list[int] = field(default_factory=list)


def visible_request(session: Session, *, actor: Staff, request_id: int) -> ApprovalRequest | None:
    """The request if it exists for `actor`: they may see its order, or they are (or stand in
    for) one of its approvers. Otherwise None, exactly like an id that does not exist."""
    request = session.get(ApprovalRequest, request_id)
    if request is None or can_see_order(actor, request.order):
        return request
    principals = [actor.id, *(s.id for s in delegators_of(session, actor))]
    assigned = session.scalar(
        select(ApprovalAssignment.id)
        .where(
            ApprovalAssignment.request_id == request.id,
            ApprovalAssignment.approver_id.in_(principals),
        )
        .limit(1)
    )
    return request if assigned is not None else None


def _request_for(
    session: Session, *, actor: Staff, number: str | None, request_id: int | None
) -> int:
    if request_id is not None:
        found = visible_request(session, actor=actor, request_id=request_id)
        if found is None:
            raise NotFound(NOT_FOUND_REQUEST)
        return found.id
    if not number:
        raise ValidationFailed("请提供订单号", fields={"number": "必填"})
    typed = number.strip().upper()
    order = session.scalar(select(Order).where(Order.number == typed))
    request = None
    if order is not None:
        request = (
            pending_request(session, order)
            or pending_request(session, order, "change")
            or latest_request(session, order)
        )
    visible = request is not None and visible_request(session, actor=actor, request_id=request.id)
    if order is None or (not visible and not can_see_order(actor, order)):
        raise NotFound(f"找不到订单 {typed}")
    if request is None:
        raise NotFound(f"订单 {order.number} 没有审批记录")
    return request.id


def _pick_assignment(
    session: Session, request: ApprovalRequest, actor: Staff
) -> tuple[ApprovalAssignment | None, list[ApprovalAssignment]]:
    """(the pending assignment the actor decides now, every assignment the actor speaks for).

    Their own slot comes before one held for someone who delegated to them."""
    principals = [actor.id]
    if actor.id != request.order.owner_id:  # a substitute never approves their own order
        principals += [s.id for s in delegators_of(session, actor)]
    mine = session.scalars(
        select(ApprovalAssignment)
        .where(
            ApprovalAssignment.request_id == request.id,
            ApprovalAssignment.approver_id.in_(principals),
        )
        .order_by(ApprovalAssignment.step_sequence, ApprovalAssignment.id)
        .execution_options(populate_existing=True)
    ).all()
    open_now = [
        a for a in mine if a.status == "pending" and a.step_sequence == request.current_step
    ]
    open_now.sort(key=lambda a: (a.approver_id != actor.id, a.id))
    return (open_now[0] if open_now else None), list(mine)


def normalise_decision(decision: str) -> str:
    word = DECISION_ALIASES.get((decision or "").strip().lower()) or DECISION_ALIASES.get(
        (decision or "").strip()
    )
    if word is None:
        raise ValidationFailed("审批结果只能是 同意 或 驳回", fields={"decision": "同意/驳回"})
    return word


def _close_others(
    session: Session, assignments: list[ApprovalAssignment], status: str, now: datetime
) -> list[ApprovalAssignment]:
    closed = []
    for other in assignments:
        result = session.execute(
            update(ApprovalAssignment)
            .where(ApprovalAssignment.id == other.id, ApprovalAssignment.status == "pending")
            .values(status=status, decided_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount:  # type: ignore[attr-defined]
            session.refresh(other)
            closed.append(other)
    return closed


def _reject(
    session: Session,
    request: ApprovalRequest,
    every: list[ApprovalAssignment],
    *,
    actor: Staff,
    who: str,
    comment: str | None,
    now: datetime,
) -> list[ApprovalAssignment]:
    """End the request: every open slot is cancelled, the order returns to draft with the
    reason. Returns the current step's slots whose cards need greying out."""
    order = request.order
    current = [a for a in every if a.step_sequence == request.current_step]
    greyed = _close_others(session, current, "cancelled", now)
    _close_others(session, [a for a in every if a not in current], "cancelled", now)
    request.status = "rejected"
    request.decided_at = now
    if request.kind == "change":
        on_change_rejected(session, request, actor=actor, comment=comment)
    else:
        apply_status(session, order, "draft", actor, reason=comment)
    if request.submitted_by_id != order.owner_id or request.kind == "change":
        # The owner hears about it from the status change; a submitting manager does not.
        notify.app_text(
            session,
            key=f"approval-rejected:{request.id}",
            to=[request.submitted_by],
            text=f"【审批驳回】{subject_label(request)} 被 {who} 驳回:{comment}",
            order_id=order.id,
        )
    return greyed


def _approve(
    session: Session,
    request: ApprovalRequest,
    step_assignments: list[ApprovalAssignment],
    others: list[ApprovalAssignment],
    *,
    principal: Staff,
    actor: Staff,
    now: datetime,
) -> tuple[list[ApprovalAssignment], bool, bool]:
    """Count an approval: (slots closed by it, step finished, request finished). A finished
    step opens the next one; the last one approves the order and runs the automation."""
    order = request.order
    step = request.steps_snapshot[request.current_step - 1]
    if step["mode"] == "any":
        closed = _close_others(session, others, "superseded", now)
    else:
        # An escalated manager's approval stands in for the late reports they replaced.
        covered = [
            a
            for a in others
            if a.escalated_at is not None and a.approver.manager_id == principal.id
        ]
        closed = _close_others(session, covered, "superseded", now)
    if any(a.status == "pending" for a in step_assignments):
        return closed, False, False
    if request.current_step < len(request.steps_snapshot):
        request.current_step += 1
        request.step_started_at = now
        create_step_assignments(session, order, request, request.current_step)
        return closed, True, False
    request.status = "approved"
    request.decided_at = now
    if request.kind == "change":
        on_change_approved(session, request, actor=actor)
    else:
        apply_status(session, order, "approved", actor)
        on_order_approved(session, order=order, actor=actor)
    return closed, True, True


def decide(
    session: Session,
    *,
    actor: Staff,
    number: str | None = None,
    request_id: int | None = None,
    decision: str,
    comment: str | None = None,
) -> DecisionResult:
    """Record one approver's decision on the current step (see the module doc for why it is
    exactly-once). A rejection needs a reason and ends the request; the last approval approves
    the order and runs the automation in this same transaction."""
    decision = normalise_decision(decision)
    comment = (comment or "").strip() or None
    if decision == "reject" and not comment:
        raise ValidationFailed("驳回需要填写原因", fields={"comment": "请填写驳回原因"})
    request, assignment = _open_assignment(
        session, actor=actor, number=number, request_id=request_id
    )
    order = request.order
    now = clock.now()
    _flip(session, request, assignment, decision, now)
    principal = assignment.approver
    on_behalf = principal if principal.id != actor.id else None
    action, who = _record_action(
        session, request, assignment, actor=actor, decision=decision, comment=comment, now=now
    )
    text = notify.replace_name(decision, actor, now, clock.company_tz(session))
    every = _fresh_assignments(session, request)
    step_assignments = [a for a in every if a.step_sequence == request.current_step]
    others = [a for a in step_assignments if a.id != assignment.id]
    greyed: list[ApprovalAssignment] = []
    if on_behalf:
        greyed.append(assignment)  # the delegator's own card still shows live buttons
    if decision == "reject":
        greyed += _reject(session, request, every, actor=actor, who=who, comment=comment, now=now)
        step_finished = request_finished = True
    else:
        closed, step_finished, request_finished = _approve(
            session, request, step_assignments, others, principal=principal, actor=actor, now=now
        )
        greyed += closed
    for a in greyed:
        notify.card_update(session, a, text=text, order_id=order.id)
    flush_or_conflict(session, order)
    message = _outcome_message(request, decision, step_finished, request_finished, on_behalf)
    return DecisionResult(
        request=request,
        assignment=assignment,
        action=action,
        decision=decision,
        step_finished=step_finished,
        request_finished=request_finished,
        order_status=order.status,
        message=message,
        replace_name=text,
        updated_cards=[a.id for a in greyed],
    )


def _fresh_assignments(session: Session, request: ApprovalRequest) -> list[ApprovalAssignment]:
    """Every assignment of the request as the database has it now (the flip above bypassed the
    identity map, and a parallel decision may have changed the others)."""
    return list(
        session.scalars(
            select(ApprovalAssignment)
            .where(ApprovalAssignment.request_id == request.id)
            .order_by(ApprovalAssignment.id)
            .execution_options(populate_existing=True)
        )
    )


def _open_assignment(
    session: Session, *, actor: Staff, number: str | None, request_id: int | None
) -> tuple[ApprovalRequest, ApprovalAssignment]:
    """The locked request and the actor's pending assignment on its current step, or the error
    that says why the actor cannot decide (not an approver, too late, own order, order moved)."""
    rid = _request_for(session, actor=actor, number=number, request_id=request_id)
    request = lock_request(session, rid)
    assignment, mine = _pick_assignment(session, request, actor)
    if assignment is None:
        if not mine:
            raise PermissionDenied("您不是这笔订单当前步骤的审批人")
        raise late_error(session, request, mine)
    order = request.order
    if order.owner_id == actor.id:
        # Whatever the route (an owner changed after submit, a stale card): never one's own.
        raise PermissionDenied("不能审批自己负责的订单")
    change = request.change_request
    if request.kind == "change" and change is not None and change.status != "pending":
        raise Conflict(f"变更单 {change.number} 当前为「{change.status_zh}」,该审批已失效")
    if request.kind == "order" and order.status != "pending_approval":
        # The order left approval another way (e.g. cancelled); the sweep closes the request.
        raise Conflict(f"订单 {order.number} 当前为「{order.status_zh}」,该审批已失效")
    return request, assignment


def _flip(
    session: Session,
    request: ApprovalRequest,
    assignment: ApprovalAssignment,
    decision: str,
    now: datetime,
) -> None:
    """Decide the assignment with a conditional UPDATE: of two parallel clicks exactly one
    changes the row; the other is told who decided."""
    flipped = session.execute(
        update(ApprovalAssignment)
        .where(ApprovalAssignment.id == assignment.id, ApprovalAssignment.status == "pending")
        .values(status=DECISIONS[decision], decided_at=now)
        .execution_options(synchronize_session=False)
    )
    if flipped.rowcount != 1:  # type: ignore[attr-defined]
        raise already_decided_error(session, request, step=assignment.step_sequence)
    session.refresh(assignment)


def _record_action(
    session: Session,
    request: ApprovalRequest,
    assignment: ApprovalAssignment,
    *,
    actor: Staff,
    decision: str,
    comment: str | None,
    now: datetime,
) -> tuple[ApprovalAction, str]:
    """The action row and its timeline entry; returns the action and who decided, as shown
    ("张三", or "李四 代 张三 审批" for a substitute)."""
    principal = assignment.approver
    on_behalf = principal if principal.id != actor.id else None
    action = ApprovalAction(
        request=request,
        step_sequence=assignment.step_sequence,
        actor=actor,
        on_behalf_of=on_behalf,
        decision=decision,
        comment=comment,
        created_at=now,
    )
    session.add(action)
    step = request.steps_snapshot[request.current_step - 1]
    verb = "同意" if decision == "approve" else "驳回"
    who = f"{actor.name} 代 {principal.name} 审批" if on_behalf else actor.name
    body = f"{who}:{verb}(第{request.current_step}步 {step['name']})"
    if request.kind == "change":
        body = f"{subject_label(request)} {body}"
    if comment:
        body += f",意见:{comment}"
    timeline.record(
        session,
        kind="approval",
        actor=actor,
        body=body,
        order=request.order,
        data={
            "request_id": request.id,
            "event": decision,
            "step": request.current_step,
            "on_behalf_of": principal.userid if on_behalf else None,
        },
    )
    return action, who


def _outcome_message(
    request: ApprovalRequest,
    decision: str,
    step_finished: bool,
    request_finished: bool,
    on_behalf: Staff | None,
) -> str:
    """The decider's reply: what their decision did to the order."""
    subject = subject_label(request)
    if request_finished:
        message = f"已驳回{subject}" if decision == "reject" else f"{subject} 审批通过"
    elif step_finished:
        message = f"已同意,{subject} 进入第{request.current_step}步审批"
    else:
        message = f"已同意,等待同一步骤的其他审批人({subject})"
    if on_behalf:
        message = f"{message}(代 {on_behalf.name} 审批)"
    return message
