"""The order lifecycle as data, and the one function that moves an order between states.

draft -> pending_approval -> approved -> in_progress -> delivered -> accepted (客户验收) -> closed.
A rejection or withdrawal returns a pending order to draft with the reason. Cancelling (with a
reason) is open to the people managing the order before work starts; once in progress only a
manager (or gm/admin) may cancel.

`TRANSITIONS` is the whole table; tests walk every pair of states over it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.core.errors import IllegalTransition, ValidationFailed
from orderdesk.models import Order, Staff
from orderdesk.models.order import ORDER_STATUS_ZH, ORDER_STATUSES
from orderdesk.money.plans import on_event
from orderdesk.orders import timeline
from orderdesk.orders.common import stale_as_conflict
from orderdesk.orders.messages import notify_status

# Who may perform a transition:
#   "user"    - the owner, the project's PM, a manager in scope, gm/admin (via transition());
#   "manager" - only a manager / gm / admin in scope (via transition());
#   "system"  - only the approvals service (submit, decision, withdraw) via apply_status().
USER, MANAGER, SYSTEM = "user", "manager", "system"


@dataclass(frozen=True)
class Rule:
    who: str
    needs_reason: bool = False
    label: str = ""


TRANSITIONS: dict[str, dict[str, Rule]] = {
    "draft": {
        "pending_approval": Rule(SYSTEM, label="提交审批"),
        "cancelled": Rule(USER, needs_reason=True, label="取消"),
    },
    "pending_approval": {
        "approved": Rule(SYSTEM, label="审批通过"),
        "draft": Rule(SYSTEM, needs_reason=True, label="驳回/撤回"),
        "cancelled": Rule(USER, needs_reason=True, label="取消"),
    },
    "approved": {
        "in_progress": Rule(USER, label="开始执行"),
        "cancelled": Rule(USER, needs_reason=True, label="取消"),
    },
    "in_progress": {
        "delivered": Rule(USER, label="交付"),
        "cancelled": Rule(MANAGER, needs_reason=True, label="取消"),
    },
    "delivered": {
        "accepted": Rule(USER, label="客户验收"),
        "cancelled": Rule(MANAGER, needs_reason=True, label="取消"),
    },
    "accepted": {
        "closed": Rule(USER, label="关闭"),
        "cancelled": Rule(MANAGER, needs_reason=True, label="取消"),
    },
    "closed": {},
    "cancelled": {},
}
assert set(TRANSITIONS) == set(ORDER_STATUSES)

# Words people type for a target state (Chinese first, English aliases accepted).
STATUS_ALIASES: dict[str, str] = {
    **{s: s for s in ORDER_STATUSES},
    **{zh: s for s, zh in ORDER_STATUS_ZH.items()},
    "开始": "in_progress",
    "执行": "in_progress",
    "start": "in_progress",
    "交付": "delivered",
    "deliver": "delivered",
    "验收": "accepted",
    "客户验收": "accepted",
    "accept": "accepted",
    "关闭": "closed",
    "close": "closed",
    "取消": "cancelled",
    "cancel": "cancelled",
    "canceled": "cancelled",
    # The action words shown in describe_allowed() work as commands too ("开始执行", "客户验收").
    **{
        rule.label: to
        for targets in TRANSITIONS.values()
        for to, rule in targets.items()
        if rule.who != SYSTEM
    },
}


def parse_status(word: str) -> str | None:
    """A state name from what a person typed, or None."""
    return STATUS_ALIASES.get(word.strip().lower()) or STATUS_ALIASES.get(word.strip())


def allowed_from(status: str, *, who: str | None = None) -> list[str]:
    """Targets reachable from `status` (optionally only those a given kind of actor may do)."""
    rules = TRANSITIONS.get(status, {})
    return [to for to, rule in rules.items() if who is None or rule.who == who]


def describe_allowed(status: str) -> str:
    """'从「执行中」可以:交付、取消(需经理)' — the Chinese hint inside IllegalTransition."""
    here = ORDER_STATUS_ZH.get(status, status)
    parts = []
    for to, rule in TRANSITIONS.get(status, {}).items():
        text = f"{rule.label}→{ORDER_STATUS_ZH[to]}"
        if rule.who == MANAGER:
            text += "(仅经理)"
        elif rule.who == SYSTEM:
            text += "(经审批流程)"
        parts.append(text)
    if not parts:
        return f"订单{here},不能再变更状态"
    return f"订单当前为「{here}」,可以:{'、'.join(parts)}"


def check(order: Order, to: str, *, who: str, reason: str | None) -> Rule:
    """The rule for order.status -> to, or IllegalTransition / ValidationFailed explaining why."""
    if to not in TRANSITIONS:
        raise IllegalTransition(f"未知状态 {to}。{describe_allowed(order.status)}")
    rule = TRANSITIONS.get(order.status, {}).get(to)
    if rule is None:
        target = ORDER_STATUS_ZH.get(to, to)
        raise IllegalTransition(f"不能变更为「{target}」。{describe_allowed(order.status)}")
    if who != SYSTEM and rule.who == SYSTEM:
        raise IllegalTransition(
            f"「{ORDER_STATUS_ZH[to]}」需经审批流程完成。{describe_allowed(order.status)}"
        )
    if who == USER and rule.who == MANAGER:
        raise IllegalTransition(
            f"订单已开始执行,只有经理可以{rule.label}。{describe_allowed(order.status)}"
        )
    if rule.needs_reason and not (reason or "").strip():
        raise ValidationFailed(f"{rule.label}需要填写原因", fields={"reason": "请填写原因"})
    return rule


def apply_status(
    session: Session, order: Order, to: str, actor: Staff | None, reason: str | None = None
) -> Order:
    """Move `order` to `to` (any rule, including the approval-driven ones) and record it.

    Called by `transition()` and by the approvals service (submit: draft->pending_approval,
    last approval: ->approved, rejection/withdrawal: ->draft with the reason). Writes the
    timeline entry and the owner/PM notifications in the caller's transaction.
    """
    rule = check(order, to, who=SYSTEM, reason=reason)
    # Any flush below (autoflush included) may find the row changed by someone else.
    with stale_as_conflict(session, order):
        before = order.status
        order.status = to
        order.status_reason = (reason or "").strip() or None
        order.updated_by_id = actor.id if actor else None
        now = clock.now()
        if to == "pending_approval":
            order.submitted_at = now
        if to in ("closed", "cancelled"):
            order.closed_at = now
        body = f"状态:{ORDER_STATUS_ZH[before]} → {ORDER_STATUS_ZH[to]}"
        if order.status_reason:
            body += f"(原因:{order.status_reason})"
        timeline.record(
            session,
            kind="status",
            actor=actor,
            body=body,
            order=order,
            data={"from": before, "to": to, "reason": order.status_reason, "action": rule.label},
        )
        notify_status(session, order, before=before, actor=actor)
        # Installments due "N days after <status>" (e.g. delivered) start counting today.
        on_event(session, order=order, event=to, on_date=clock.today(clock.company_tz(session)))
    return order
