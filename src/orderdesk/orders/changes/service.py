"""Raising, submitting and withdrawing change requests; finding them within the caller's scope.

A change is raised on an order by its sales owner or its project's PM, numbered per order
(`SO-2026-0001-C1`), and approved through the approval engine with the order type's change
flow (thresholds on |amount delta|). Out of scope reads exactly like "not found"."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orderdesk.approvals.flows import select_flow, snapshot_steps
from orderdesk.approvals.requests import (
    cancel_open_assignments,
    create_step_assignments,
    lock_request,
)
from orderdesk.core import clock
from orderdesk.core.errors import IllegalTransition, NotFound, PermissionDenied, ValidationFailed
from orderdesk.core.formatting import money
from orderdesk.core.locks import lock_row
from orderdesk.models import ApprovalRequest, Attachment, ChangeRequest, Order, Staff
from orderdesk.money.collections import plan_of
from orderdesk.money.plan_amend import kept_floor
from orderdesk.orders import timeline
from orderdesk.orders.changes.parsing import check_days, check_delta
from orderdesk.orders.queries import get_order

# A change amends a running order: not a draft (edit it instead), not a finished one.
OPEN_STATUSES = ("approved", "in_progress", "delivered", "accepted")
MAX_SCOPE = 2000


@dataclass(frozen=True)
class ChangeInput:
    scope: str
    amount_delta: object
    schedule_days: object = 0
    reason: str | None = None
    attachment_ids: Sequence[int] = ()


def may_raise(actor: Staff, order: Order) -> bool:
    """The order's sales owner or its project's PM."""
    project = order.project
    return order.owner_id == actor.id or (project is not None and project.pm_id == actor.id)


def may_raise_now(actor: Staff, order: Order) -> bool:
    """Whether `actor` may raise a change on `order` as it stands (the page's 发起变更 form):
    the same two rules `create_change` enforces."""
    return may_raise(actor, order) and order.status in OPEN_STATUSES


def describe(change: ChangeRequest, *, with_money: bool = True) -> str:
    """ "+¥30,000.00,延期14天" as the change reads in replies and on the timeline
    (`with_money=False`: the schedule only, for readers who may not see the order's money)."""
    delta = change.amount_delta
    parts = [f"{'+' if delta >= 0 else '-'}{money(abs(delta))}"] if with_money else []
    days = change.schedule_days
    if days:
        parts.append(f"延期{days}天" if days > 0 else f"提前{-days}天")
    return ",".join(parts)


def _attachments(session: Session, order: Order, ids: Sequence[int]) -> list[Attachment]:
    """The order's own attachments only (another order's file reads as unknown)."""
    wanted = sorted({int(i) for i in ids})
    if not wanted:
        return []
    found = list(
        session.scalars(
            select(Attachment).where(Attachment.id.in_(wanted), Attachment.order_id == order.id)
        )
    )
    if len(found) != len(wanted):
        raise ValidationFailed("附件不属于该订单", fields={"attachment_ids": "unknown"})
    return found


def _check_amount(session: Session, order: Order, delta: Decimal) -> None:
    """Refuse early what approval would refuse: below zero or below money already in."""
    if order.amount + delta < 0:
        raise ValidationFailed(
            f"变更后订单金额 {money(order.amount + delta)} 不能为负",
            fields={"amount_delta": "negative"},
        )
    plan = plan_of(session, order)
    if plan is not None and plan.total + delta < kept_floor(list(plan.installments)):
        raise ValidationFailed(
            f"变更后金额低于已收款/已开票的金额 {money(kept_floor(list(plan.installments)))},"
            "不能这样变更",
            fields={"amount_delta": "below_paid_or_invoiced"},
        )


def create_change(
    session: Session, *, actor: Staff, number: str, data: ChangeInput, submit: bool = False
) -> ChangeRequest:
    """A draft change on the order (submitted at once when `submit`)."""
    order = get_order(session, actor=actor, number=number)
    if not may_raise(actor, order):
        raise PermissionDenied("只有订单的销售负责人或项目经理可以发起变更")
    if order.status not in OPEN_STATUSES:
        raise IllegalTransition(f"订单 {order.number} 当前为「{order.status_zh}」,不能发起变更")
    scope = (data.scope or "").strip()
    if not scope or len(scope) > MAX_SCOPE:
        raise ValidationFailed(f"请填写变更内容(1-{MAX_SCOPE} 字)", fields={"scope": "required"})
    delta, days = check_delta(data.amount_delta), check_days(data.schedule_days)
    _check_amount(session, order, delta)
    files = _attachments(session, order, data.attachment_ids)
    lock_row(session, Order, order.id)  # one sequence number per order, even in parallel
    last = session.scalar(
        select(func.max(ChangeRequest.sequence)).where(ChangeRequest.order_id == order.id)
    )
    seq = (last or 0) + 1
    change = ChangeRequest(
        number=f"{order.number}-C{seq}",
        order=order,
        sequence=seq,
        raised_by=actor,
        scope=scope,
        amount_delta=delta,
        schedule_days=days,
        reason=(data.reason or "").strip() or None,
        status="draft",
        attachments=files,
    )
    session.add(change)
    session.flush()
    timeline.record(
        session,
        kind="updated",
        actor=actor,
        body=f"{actor.name} 发起变更 {change.number}:{scope}({describe(change)})",
        plain=f"{actor.name} 发起变更 {change.number}:{scope}",
        order=order,
        data={"change": change.number, "event": "change_created"},
    )
    if submit:
        submit_change(session, actor=actor, change=change)
    return change


def submit_change(session: Session, *, actor: Staff, change: ChangeRequest) -> ApprovalRequest:
    """draft -> pending: the change flow's steps are snapshotted and the first approvers carded."""
    order = change.order
    if actor.id not in (change.raised_by_id, order.owner_id):
        raise PermissionDenied("只有变更发起人或订单负责人可以提交")
    if change.status != "draft":
        raise IllegalTransition(f"变更单 {change.number} 当前为「{change.status_zh}」,不能提交")
    amount = abs(change.amount_delta)
    flow = select_flow(session, order, kind="change", amount=amount)
    steps = snapshot_steps(session, flow, order, amount)
    now = clock.now()
    request = ApprovalRequest(
        order=order,
        kind="change",
        change_request=change,
        flow=flow,
        status="pending",
        steps_snapshot=steps,
        current_step=1,
        step_started_at=now,
        submitted_by=actor,
    )
    session.add(request)
    change.status, change.submitted_at = "pending", now
    session.flush()
    create_step_assignments(session, order, request, 1)
    timeline.record(
        session,
        kind="approval",
        actor=actor,
        body=f"{actor.name} 提交变更 {change.number} 审批,流程「{flow.name}」:"
        + " → ".join(s["name"] for s in steps),
        order=order,
        data={"request_id": request.id, "change": change.number, "event": "submitted"},
    )
    return request


def change_request_of(session: Session, change: ChangeRequest) -> ApprovalRequest | None:
    return session.scalar(
        select(ApprovalRequest)
        .where(ApprovalRequest.change_request_id == change.id)
        .order_by(ApprovalRequest.id.desc())
    )


def withdraw_change(session: Session, *, actor: Staff, change: ChangeRequest) -> ChangeRequest:
    """A draft or pending change taken back; nothing on the order changes."""
    if actor.id not in (change.raised_by_id, change.order.owner_id):
        raise PermissionDenied("只有变更发起人或订单负责人可以撤回")
    request = change_request_of(session, change)
    if request is not None and request.status == "pending":
        request = lock_request(session, request.id)  # lock order: request before change
    locked = lock_row(session, ChangeRequest, change.id)
    assert locked is not None
    if locked.status not in ("draft", "pending"):
        raise IllegalTransition(f"变更单 {locked.number} 当前为「{locked.status_zh}」,不能撤回")
    now = clock.now()
    if request is not None and request.status == "pending":
        cancel_open_assignments(session, request, actor, now)
    locked.status, locked.decided_at = "withdrawn", now
    timeline.record(
        session,
        kind="approval",
        actor=actor,
        body=f"{actor.name} 撤回了变更 {locked.number}",
        order=locked.order,
        data={"change": locked.number, "event": "change_withdrawn"},
    )
    session.flush()
    return locked


def get_change(session: Session, *, actor: Staff, number: str) -> ChangeRequest:
    """The change by number if `actor` may see its order (otherwise exactly "not found")."""
    wanted = (number or "").strip().upper()
    change = session.scalar(select(ChangeRequest).where(ChangeRequest.number == wanted))
    if change is None:
        raise NotFound(f"找不到变更单 {number.strip()}")
    try:
        get_order(session, actor=actor, number=change.order.number)
    except NotFound:
        raise NotFound(f"找不到变更单 {number.strip()}") from None
    return change


def changes_of(session: Session, *, actor: Staff, number: str) -> tuple[Order, list[ChangeRequest]]:
    order = get_order(session, actor=actor, number=number)
    return order, changes_for(session, order)


def changes_for(session: Session, order: Order) -> list[ChangeRequest]:
    """The order's change requests in sequence, for a caller that already checked its scope."""
    rows = session.scalars(
        select(ChangeRequest)
        .where(ChangeRequest.order_id == order.id)
        .order_by(ChangeRequest.sequence)
    )
    return list(rows)
