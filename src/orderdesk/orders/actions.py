"""What a person may do to an order by hand right now: the buttons a screen offers.

Screens (the H5 pages) show exactly these; the services still check everything when one is
pressed (approvals.submit, orders.transition), so this list is a courtesy, never the guard.
"""

from __future__ import annotations

from dataclasses import dataclass

from orderdesk.directory.permissions import can_manage
from orderdesk.models import Order, Staff
from orderdesk.models.staff import MANAGING_ROLES
from orderdesk.orders.states import MANAGER, SYSTEM, TRANSITIONS

SUBMIT = "submit"


@dataclass(frozen=True)
class Action:
    to: str  # SUBMIT, or the target state of a manual transition
    label: str
    needs_reason: bool = False


def actions_for(actor: Staff, order: Order) -> list[Action]:
    """Submit for approval (owner or manager, drafts) and the manual transitions the state
    machine lets this kind of actor make (see orders/states.py)."""
    is_manager = actor.has_role(*MANAGING_ROLES)
    found: list[Action] = []
    if order.status == "draft" and (order.owner_id == actor.id or is_manager):
        found.append(Action(SUBMIT, "提交审批"))
    if not can_manage(actor, order):
        return found
    for to, rule in TRANSITIONS.get(order.status, {}).items():
        if rule.who == SYSTEM or (rule.who == MANAGER and not is_manager):
            continue
        found.append(Action(to, rule.label, rule.needs_reason))
    return found


def can_record_receipt(actor: Staff) -> bool:
    """Whether to offer the receipt form: money.receipts.record_receipt admits finance only."""
    return actor.has_role("finance")
