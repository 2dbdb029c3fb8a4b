"""Which approval flow an order goes through, which of its steps apply, and who approves each.

Resolved once at submission and snapshotted on the request, so editing a flow (or the org chart)
later does not change a request that is already in flight.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.core.errors import ValidationFailed
from orderdesk.directory.staff import staff_with_role
from orderdesk.models import ApprovalFlow, ApprovalStep, Department, Order, Staff
from orderdesk.models.staff import ROLE_NAMES_ZH


def _decimal(raw: Any) -> Decimal | None:
    if raw is None or raw == "":
        return None
    try:
        return Decimal(str(raw))
    except InvalidOperation:
        return None


def conditions_match(
    conditions: dict[str, Any] | None, order: Order, amount: Decimal | None = None
) -> bool:
    """The flag conditions a flow or a step may carry; every given condition must hold.

    `amount` is what the thresholds compare: the order amount, or |delta| for a change."""
    conditions = conditions or {}
    amount = order.amount if amount is None else amount
    codes = conditions.get("order_types")
    if codes and order.order_type.code not in codes:
        return False
    if "new_customer" in conditions and bool(conditions["new_customer"]) != bool(
        order.customer.is_new
    ):
        return False
    limit = _decimal(conditions.get("discount_above"))
    if limit is not None and not (order.discount_rate or Decimal("0")) > limit:
        return False
    min_amount = _decimal(conditions.get("min_amount"))
    if min_amount is not None and amount < min_amount:
        return False
    max_amount = _decimal(conditions.get("max_amount"))
    return not (max_amount is not None and amount >= max_amount)


def flow_kind(flow: ApprovalFlow) -> str:
    """ "change" for a change-request flow (conditions {"kind": "change"}), else "order"."""
    return "change" if (flow.conditions or {}).get("kind") == "change" else "order"


def flow_matches(
    flow: ApprovalFlow, order: Order, amount: Decimal | None = None, kind: str = "order"
) -> bool:
    if not flow.active or flow_kind(flow) != kind:
        return False
    amount = order.amount if amount is None else amount
    if flow.business_line_id is not None and flow.business_line_id != order.business_line_id:
        return False
    # Amount bands are half-open [min, max) so 50k falls in exactly one of "<50k" and "50k-500k".
    if flow.min_amount is not None and amount < flow.min_amount:
        return False
    if flow.max_amount is not None and amount >= flow.max_amount:
        return False
    return conditions_match(flow.conditions, order, amount)


def _specificity(flow: ApprovalFlow) -> int:
    given = [flow.business_line_id, flow.min_amount, flow.max_amount]
    return sum(v is not None for v in given) + len(
        [v for v in (flow.conditions or {}).values() if v]
    )


def select_flow(
    session: Session, order: Order, *, kind: str = "order", amount: Decimal | None = None
) -> ApprovalFlow:
    """The flow for this order: highest priority, then the most specific, then the oldest.

    An order type that names its flow explicitly uses it (when active) before any rule.
    A change request (kind="change") uses the change flows (conditions {"kind": "change"},
    usually per order type) with thresholds on |amount delta|.
    """
    named = order.order_type.approval_flow
    if kind == "order" and named is not None and named.active:
        return named
    flows = session.scalars(select(ApprovalFlow).where(ApprovalFlow.active.is_(True))).all()
    matching = [f for f in flows if flow_matches(f, order, amount, kind)]
    if not matching and kind == "change":
        raise ValidationFailed(
            f"没有适用于订单 {order.number} 变更的审批流程(类型/变更金额不匹配),请联系管理员配置"
        )
    if not matching:
        raise ValidationFailed(
            f"没有适用于订单 {order.number} 的审批流程(业务线/类型/金额不匹配),请联系管理员配置"
        )
    matching.sort(key=lambda f: (-f.priority, -_specificity(f), f.id))
    return matching[0]


def step_applies(step: ApprovalStep, order: Order, amount: Decimal | None = None) -> bool:
    amount = order.amount if amount is None else amount
    if step.min_amount is not None and amount < step.min_amount:
        return False
    return conditions_match(step.conditions, order, amount)


def _pm_manager(order: Order) -> list[Staff]:
    """The manager of the order's project manager (a schedule-only change is theirs to judge)."""
    project = order.project
    pm = project.pm if project is not None else None
    manager = pm.manager if pm is not None else None
    return [manager] if manager is not None and manager.active else []


def _department_head(session: Session, order: Order) -> list[Staff]:
    dept: Department | None = order.owner.department
    # The owner's own head cannot approve themselves: go one level up.
    while dept is not None:
        if dept.head_userid and dept.head_userid != order.owner.userid:
            head = session.scalar(
                select(Staff).where(Staff.userid == dept.head_userid, Staff.active.is_(True))
            )
            if head is not None:
                return [head]
        dept = dept.parent
    return []


def _by_role(session: Session, role: str, order: Order) -> list[Staff]:
    holders = [s for s in staff_with_role(session, role) if s.id != order.owner_id]
    # Prefer the role holders in the owner's department (the sales manager of *this* team);
    # roles that live in another department (finance, gm) fall back to everyone holding it.
    same_dept = [s for s in holders if s.department_id == order.owner.department_id]
    return same_dept or holders


def resolve_approvers(session: Session, step: ApprovalStep, order: Order) -> list[Staff]:
    """Active approvers for one step, excluding the order's owner (nobody approves their own)."""
    kind, value = step.approver_kind, (step.approver_value or "").strip()
    found: list[Staff]
    if kind == "role":
        found = _by_role(session, value, order)
    elif kind == "department_head":
        found = _department_head(session, order)
    elif kind == "owner_manager":
        manager = order.owner.manager
        found = [manager] if manager is not None and manager.active else []
    elif kind == "pm_manager":
        found = _pm_manager(order)
    elif kind == "users":
        userids = [u.strip() for u in value.replace("|", ",").split(",") if u.strip()]
        found = list(
            session.scalars(
                select(Staff)
                .where(Staff.userid.in_(userids), Staff.active.is_(True))
                .order_by(Staff.userid)
            )
        )
    else:
        found = []
    seen: set[int] = set()
    result = []
    for s in found:
        if s.id != order.owner_id and s.id not in seen:
            seen.add(s.id)
            result.append(s)
    return result


def describe_approvers(step: ApprovalStep) -> str:
    if step.approver_kind == "role":
        return ROLE_NAMES_ZH.get(step.approver_value, step.approver_value)
    return {
        "department_head": "部门负责人",
        "owner_manager": "直属上级",
        "pm_manager": "项目经理的上级",
        "users": f"指定人员({step.approver_value})",
    }.get(step.approver_kind, step.approver_kind)


def snapshot_steps(
    session: Session, flow: ApprovalFlow, order: Order, amount: Decimal | None = None
) -> list[dict[str, Any]]:
    """The applicable steps with their approvers, renumbered 1..n; ValidationFailed when a step
    has nobody who could approve it (better said at submission than discovered mid-flow)."""
    snapshot: list[dict[str, Any]] = []
    for step in flow.steps:
        if not step_applies(step, order, amount):
            continue
        approvers = resolve_approvers(session, step, order)
        if not approvers:
            raise ValidationFailed(
                f"审批步骤「{step.name}」找不到可用的审批人({describe_approvers(step)}),"
                "请联系管理员检查组织架构或流程配置",
                fields={"approvers": step.name},
            )
        snapshot.append(
            {
                "sequence": len(snapshot) + 1,
                "step_id": step.id,
                "name": step.name,
                "mode": step.mode if step.mode in ("any", "all") else "any",
                "approver_ids": [s.id for s in approvers],
            }
        )
    if not snapshot:
        raise ValidationFailed(f"审批流程「{flow.name}」对订单 {order.number} 没有适用的步骤")
    return snapshot
