"""Approval requests: finding and row-locking them, opening a step's assignments, and the
"already decided" answer given to a late or repeated decision."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.approvals import messages as notify
from orderdesk.approvals.delegation import substitutes_of
from orderdesk.core import clock
from orderdesk.core.errors import AlreadyDecided, NotFound, ValidationFailed
from orderdesk.core.locks import lock_row
from orderdesk.models import ApprovalAction, ApprovalAssignment, ApprovalRequest, Order, Staff


def lock_request(session: Session, request_id: int) -> ApprovalRequest:
    """The request, row-locked for the rest of the transaction and re-read from the database."""
    request = lock_row(session, ApprovalRequest, request_id)
    if request is None:
        raise NotFound("找不到该审批")
    return request


def pending_request(session: Session, order: Order, kind: str = "order") -> ApprovalRequest | None:
    return session.scalar(
        select(ApprovalRequest)
        .where(
            ApprovalRequest.order_id == order.id,
            ApprovalRequest.status == "pending",
            ApprovalRequest.kind == kind,
        )
        .order_by(ApprovalRequest.id.desc())
    )


def latest_request(session: Session, order: Order, kind: str = "order") -> ApprovalRequest | None:
    return session.scalar(
        select(ApprovalRequest)
        .where(ApprovalRequest.order_id == order.id, ApprovalRequest.kind == kind)
        .order_by(ApprovalRequest.id.desc())
    )


def subject_label(request: ApprovalRequest) -> str:
    """What the request approves, as people read it: "订单 SO-…" or "变更单 SO-…-C1"."""
    change = request.change_request
    if request.kind == "change" and change is not None:
        return f"变更单 {change.number}"
    return f"订单 {request.order.number}"


def cancel_open_assignments(
    session: Session, request: ApprovalRequest, actor: Staff, now: datetime
) -> None:
    """Withdraw: every open slot is cancelled and its card greyed out ("已撤回 · 张三 · 10:32")."""
    request.status = "withdrawn"
    request.decided_at = now
    text = notify.replace_name("withdraw", actor, now, clock.company_tz(session))
    for a in request.assignments:
        if a.status == "pending":
            a.status = "cancelled"
            a.decided_at = now
            notify.card_update(session, a, text=text, order_id=request.order_id)


def _decided_text(session: Session, who: str, at: datetime, verb: str = "审批") -> str:
    return f"已由 {who} 于 {notify.hhmm(at, clock.company_tz(session))} {verb}"


def already_decided_error(
    session: Session, request: ApprovalRequest, step: int | None = None
) -> AlreadyDecided:
    """AlreadyDecided naming who decided (the step's deciding action, else the request's last)."""
    if request.status == "withdrawn":
        return AlreadyDecided(
            _decided_text(
                session, request.submitted_by.name, request.decided_at or clock.now(), "撤回"
            )
        )
    actions = session.scalars(
        select(ApprovalAction)
        .where(ApprovalAction.request_id == request.id)
        .order_by(ApprovalAction.id)
    ).all()
    chosen = [a for a in actions if step is None or a.step_sequence == step] or list(actions)
    if not chosen:
        return AlreadyDecided("该审批已处理")
    last = chosen[-1] if step is None else chosen[0]
    return AlreadyDecided(_decided_text(session, last.actor.name, last.created_at))


def late_error(
    session: Session, request: ApprovalRequest, mine: list[ApprovalAssignment]
) -> AlreadyDecided:
    """Who made this click too late: the actor's own earlier decision when there is one, else
    whoever decided the step (any-mode) or ended the request (rejection, withdrawal)."""
    if request.status == "withdrawn":
        return already_decided_error(session, request)
    decided = [a for a in mine if a.status in ("approved", "rejected")]
    if decided:
        own = decided[-1]
        action = session.scalar(
            select(ApprovalAction)
            .where(
                ApprovalAction.request_id == request.id,
                ApprovalAction.step_sequence == own.step_sequence,
                (ApprovalAction.actor_id == own.approver_id)
                | (ApprovalAction.on_behalf_of_id == own.approver_id),
            )
            .order_by(ApprovalAction.id)
        )
        if action is not None:
            return AlreadyDecided(_decided_text(session, action.actor.name, action.created_at))
    last = mine[-1]
    if last.status == "superseded":
        return already_decided_error(session, request, step=last.step_sequence)
    return already_decided_error(session, request)


def create_step_assignments(
    session: Session, order: Order, request: ApprovalRequest, sequence: int
) -> list[ApprovalAssignment]:
    """Assignments (and cards) for the approvers snapshotted on step `sequence`."""
    step = request.steps_snapshot[sequence - 1]
    created = []
    for staff_id in step["approver_ids"]:
        approver = session.get(Staff, staff_id)
        if approver is None or not approver.active:
            continue
        a = ApprovalAssignment(
            request=request,
            step_sequence=sequence,
            approver=approver,
            status="pending",
            created_at=clock.now(),
        )
        session.add(a)
        created.append(a)
    if not created:
        raise ValidationFailed(f"审批步骤「{step['name']}」的审批人均已停用,请联系管理员")
    session.flush()  # ids for the card task ids and outbox keys
    for a in created:
        subs = [x for x in substitutes_of(session, a.approver) if x.id != order.owner_id]
        notify.approval_card(session, order, request, a, substitutes=subs)
    return created
