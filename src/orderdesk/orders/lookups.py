"""Read-side look-ups shared by the API and other entry points: paged timelines, an actor's
decided approvals, and projects within the actor's data scope."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from orderdesk.core.errors import NotFound, PermissionDenied
from orderdesk.directory.permissions import can_see_money, can_see_order, order_scope
from orderdesk.models import (
    Activity,
    ApprovalAction,
    ApprovalRequest,
    Customer,
    Installment,
    Invoice,
    Order,
    PaymentPlan,
    Project,
    Receipt,
    ReceiptAllocation,
    Staff,
    Task,
)
from orderdesk.money.collections import plan_of
from orderdesk.projects.service import members


def activity_page(
    session: Session,
    *,
    order_id: int | None = None,
    customer_id: int | None = None,
    project_id: int | None = None,
    before_id: int | None = None,
    limit: int = 20,
    viewer: Staff | None = None,
) -> tuple[list[Activity], int | None]:
    """Newest first; returns (items, id to pass as `before_id` for the next page or None).

    With `viewer`, entries about orders outside the viewer's scope are left out (a customer's
    feed mixes the orders of several owners).
    """
    stmt = select(Activity)
    if viewer is not None:
        visible = select(Order.id).where(order_scope(viewer))
        stmt = stmt.where(or_(Activity.order_id.is_(None), Activity.order_id.in_(visible)))
    if order_id is not None:
        stmt = stmt.where(Activity.order_id == order_id)
    if customer_id is not None:
        stmt = stmt.where(Activity.customer_id == customer_id)
    if project_id is not None:
        stmt = stmt.where(Activity.project_id == project_id)
    if before_id is not None:
        stmt = stmt.where(Activity.id < before_id)
    # The entries' files come in one more query (the API lists them on each entry).
    stmt = stmt.options(selectinload(Activity.attachments))
    rows = list(session.scalars(stmt.order_by(Activity.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


def decided_by(session: Session, *, actor: Staff, limit: int = 50) -> list[ApprovalAction]:
    """The approval decisions `actor` made (also as a delegate), newest first."""
    return list(
        session.scalars(
            select(ApprovalAction)
            .where(ApprovalAction.actor_id == actor.id)
            .order_by(ApprovalAction.id.desc())
            .limit(limit)
        )
    )


def get_project(session: Session, *, actor: Staff, code: str) -> Project:
    """The project with `code` if its order is in the actor's scope or the actor works on it
    (task owners may not see the order's money, but see the project); NotFound otherwise."""
    project = session.scalar(select(Project).where(Project.code == code.strip().upper()))
    if project is None or not (can_see_order(actor, project.order) or actor in members(project)):
        raise NotFound(f"找不到项目 {code}")
    return project


def get_task(session: Session, *, actor: Staff, code: str, task_id: int) -> Task:
    """A task of the project `code` that the actor may see (NotFound otherwise)."""
    project = get_project(session, actor=actor, code=code)
    task = session.get(Task, task_id)
    if task is None or task.project_id != project.id:
        raise NotFound(f"项目 {project.code} 没有任务 {task_id}")
    return task


@dataclass
class Payments:
    plan: PaymentPlan | None
    installments: list[Installment]
    invoices: list[Invoice]
    receipts: list[tuple[Receipt, Decimal]]  # (receipt, amount allocated to this order)


def payments_of(
    session: Session, *, actor: Staff, order: Order, plan: PaymentPlan | None = None
) -> Payments:
    """The order's plan, its invoices, and the receipts allocated to it (with the share), for
    someone who may see the order's money. `plan`: the order's plan when already loaded."""
    if not can_see_money(actor, order):
        raise PermissionDenied("您无权查看这笔订单的金额")
    plan = plan or plan_of(session, order)
    if plan is None:
        return Payments(None, [], [], [])
    installments = list(plan.installments)
    ids = [i.id for i in installments]
    invoices = list(
        session.scalars(select(Invoice).where(Invoice.installment_id.in_(ids)).order_by(Invoice.id))
    )
    rows = session.execute(
        select(Receipt, func.sum(ReceiptAllocation.amount))
        .join(ReceiptAllocation, ReceiptAllocation.receipt_id == Receipt.id)
        .where(ReceiptAllocation.installment_id.in_(ids))
        .group_by(Receipt.id)
        .order_by(Receipt.id)
    ).all()
    receipts = [(receipt, Decimal(str(share))) for receipt, share in rows]
    return Payments(plan, installments, invoices, receipts)


def get_approval_request(session: Session, *, actor: Staff, request_id: int) -> ApprovalRequest:
    """A request the actor may look at: one of its approvers (also past steps) or anyone who
    sees the order; NotFound otherwise (the same answer as a wrong id)."""
    request = session.get(ApprovalRequest, request_id)
    if request is None:
        raise NotFound("找不到该审批")
    approvers = {a.approver_id for a in request.assignments}
    if actor.id not in approvers and not can_see_order(actor, request.order):
        raise NotFound("找不到该审批")
    return request


def preload_order_refs(session: Session, orders: list[Order]) -> None:
    """Load the customers and owners of `orders` in two queries, so serialising a page of
    orders does not lazy-load them one by one (many-to-one loads then hit the identity map)."""
    customer_ids = {o.customer_id for o in orders}
    owner_ids = {o.owner_id for o in orders}
    if customer_ids:
        list(session.scalars(select(Customer).where(Customer.id.in_(customer_ids))))
    if owner_ids:
        list(session.scalars(select(Staff).where(Staff.id.in_(owner_ids))))
