"""What an approval decision does to a change request, inside the decision's transaction.

Approved: the order amount and lines are amended, a contract amendment (补充协议) is numbered
per contract, the unpaid part of the plan is re-spread (`money.plan_amend`), the project's open
milestones, tasks and end date move by the schedule delta (calendar days, as the contract and
the client count them), a new order version is recorded, and the timeline and the project group
are told. Any refusal (e.g. below what is paid) raises, and the whole decision rolls back.
Rejected: only the change's status moves. Lock order as in core.locks: the request (taken by
the engine), the order, then the plan and its installments.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orderdesk.approvals import messages as notify
from orderdesk.core import clock
from orderdesk.core.errors import Conflict, ValidationFailed
from orderdesk.core.formatting import money
from orderdesk.core.locks import lock_row
from orderdesk.models import (
    ApprovalRequest,
    ChangeRequest,
    ContractAmendment,
    Order,
    OrderLine,
    Staff,
)
from orderdesk.money.collections import plan_of
from orderdesk.money.plan_amend import PlanAmendment, amend_total
from orderdesk.money.receipts import group_message, project_groups
from orderdesk.orders import timeline
from orderdesk.orders.changes.service import OPEN_STATUSES, describe
from orderdesk.orders.changes.versions import ensure_original, record_version
from orderdesk.orders.common import flush_or_conflict
from orderdesk.wecom import outbox


def _locked_change(session: Session, request: ApprovalRequest) -> ChangeRequest:
    change = None
    if request.change_request_id is not None:
        change = lock_row(session, ChangeRequest, request.change_request_id)
    if change is None:
        raise ValidationFailed("审批对应的变更单不存在")
    return change


def _amend_lines(order: Order, change: ChangeRequest) -> None:
    """An increase is a new line; a decrease comes off the last lines first (never below 0)."""
    delta = change.amount_delta
    if delta > 0:
        order.lines.append(
            OrderLine(
                position=max((line.position for line in order.lines), default=0) + 1,
                description=f"变更 {change.number}:{change.scope}"[:200],
                quantity=Decimal("1"),
                unit="项",
                unit_price=delta,
                billing_method="fixed",
                amount=delta,
            )
        )
        return
    left = -delta
    for line in sorted(order.lines, key=lambda x: x.position, reverse=True):
        take = min(left, line.amount)
        if take <= 0:
            continue
        line.amount -= take
        # Keep quantity × price = amount: the shortened line becomes one lump sum.
        line.quantity, line.unit_price = Decimal("1"), line.amount
        left -= take
        if left == 0:
            break


def _amendment(session: Session, order: Order, change: ChangeRequest) -> str | None:
    """The contract's next 补充协议 number (`HT-…-补2`), or None for an order without contract."""
    contract = order.contract
    if contract is None:
        return None
    last = session.scalar(
        select(func.max(ContractAmendment.sequence)).where(
            ContractAmendment.contract_id == contract.id
        )
    )
    seq = (last or 0) + 1
    number = f"{contract.number}-补{seq}"
    session.add(
        ContractAmendment(
            contract=contract,
            sequence=seq,
            number=number,
            change_request=change,
            amount_before=contract.amount,
            amount_after=contract.amount + change.amount_delta,
            schedule_days=change.schedule_days,
            created_at=clock.now(),
        )
    )
    contract.amount = contract.amount + change.amount_delta
    return number


def _shift_schedule(order: Order, days: int) -> list[dict[str, str | None]]:
    """Open milestones and tasks (and the project end) move by `days` calendar days."""
    project = order.project
    if project is None or days == 0:
        return []
    shift = timedelta(days=days)
    moved: list[dict[str, str | None]] = []
    for m in project.milestones:
        if m.due_date is not None and m.status != "accepted":
            moved.append({"milestone": m.name, "before": m.due_date.isoformat()})
            m.due_date = m.due_date + shift
            moved[-1]["after"] = m.due_date.isoformat()
    for t in project.tasks:
        if t.due_date is not None and t.status != "done":
            t.due_date = t.due_date + shift
    if project.end_date is not None:
        project.end_date = project.end_date + shift
    return moved


def _amend_plan(session: Session, order: Order, change: ChangeRequest) -> PlanAmendment | None:
    plan = plan_of(session, order)
    if plan is None or change.amount_delta == 0:
        return None
    today = clock.today(clock.company_tz(session))
    return amend_total(session, plan, delta=change.amount_delta, on_date=today, label=change.number)


def on_change_approved(session: Session, request: ApprovalRequest, *, actor: Staff) -> None:
    """Apply the approved change (see the module doc). Called by the approval engine."""
    change = _locked_change(session, request)
    order = lock_row(session, Order, change.order_id)
    assert order is not None
    if order.status not in OPEN_STATUSES:
        # The order was closed or cancelled meanwhile: nothing to amend any more.
        raise Conflict(f"订单 {order.number} 当前为「{order.status_zh}」,变更单已失效,请撤回")
    before = order.amount
    after = before + change.amount_delta
    if after < 0:
        raise ValidationFailed(f"变更后订单金额 {money(after)} 不能为负")
    ensure_original(session, order)
    plan = _amend_plan(session, order, change)
    if not order.amount_overridden:
        _amend_lines(order, change)
    order.amount = after
    order.updated_by = actor
    amendment = _amendment(session, order, change)
    moved = _shift_schedule(order, change.schedule_days)
    change.status, change.decided_at = "approved", clock.now()
    change.amount_before, change.amount_after = before, after
    flush_or_conflict(session, order)
    version = record_version(session, order, change)
    _record(session, actor, order, change, plan, amendment, moved, version.version)
    _tell(session, order, change, version.version)


def _record(
    session: Session,
    actor: Staff,
    order: Order,
    change: ChangeRequest,
    plan: PlanAmendment | None,
    amendment: str | None,
    moved: list[dict[str, str | None]],
    version: int,
) -> None:
    body = (
        f"变更 {change.number} 已生效(v{version}):{change.scope};"
        f"金额 {money(change.amount_before)} → {money(change.amount_after)}"
    )
    if change.schedule_days:
        body += (
            f";工期{'延期' if change.schedule_days > 0 else '提前'}{abs(change.schedule_days)}天"
        )
    if amendment:
        body += f";补充协议 {amendment}"
    timeline.record(
        session,
        kind="updated",
        actor=actor,
        body=body,
        plain=f"变更 {change.number} 已生效(v{version}):{change.scope}",
        order=order,
        data={
            "change": change.number,
            "event": "change_applied",
            "version": version,
            "amendment": amendment,
            "amount": {"before": str(change.amount_before), "after": str(change.amount_after)},
            "plan": {"before": plan.before, "after": plan.after} if plan else None,
            "milestones": moved,
        },
    )


def _tell(session: Session, order: Order, change: ChangeRequest, version: int) -> None:
    """The project group (no figures: PMs and delivery read it) and the raiser / owner."""
    days = change.schedule_days
    when = f",工期{'延期' if days > 0 else '提前'}{abs(days)}天" if days else ""
    text = f"📝 订单 {order.number} 变更 {change.number} 已批准(v{version}):{change.scope}{when}"
    for binding in project_groups(session, order):
        outbox.add(
            session,
            **group_message(
                binding,
                key=f"change-applied:{change.id}:{binding.id}",
                text=text,
                order_id=order.id,
            ),
        )
    notify.app_text(
        session,
        key=f"change-approved:{change.id}",
        to=[change.raised_by, order.owner],
        text=f"【变更已批准】{change.number}:{change.scope}({describe(change)})",
        order_id=order.id,
    )


def on_change_rejected(
    session: Session, request: ApprovalRequest, *, actor: Staff, comment: str | None
) -> None:
    """Rejected: the change is closed, the order untouched."""
    change = _locked_change(session, request)
    change.status, change.decided_at = "rejected", clock.now()
    timeline.record(
        session,
        kind="approval",
        actor=actor,
        body=f"变更 {change.number} 被驳回:{comment or ''}",
        order=change.order,
        data={"change": change.number, "event": "change_rejected"},
    )
