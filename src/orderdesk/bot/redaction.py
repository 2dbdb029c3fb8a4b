"""What a reply may show, depending on where it will be read.

- 1:1 chat ('private'): what the actor may see (directory.permissions decides).
- Internal group: a group is read by several people, so the reply shows only what every member may
  see: money appears only in a group that someone explicitly bound (a project/order group) and only
  when the asker may see it; internal comments never appear in a group.
- Client group (ChatBinding audience 'client'): only the bound customer's orders, never internal
  figures (approval steps, internal comments, other customers); commands that change data are
  refused by the router before any handler runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from orderdesk.directory.permissions import can_see_money
from orderdesk.models import ChatBinding, Order
from orderdesk.orders.bindings import group_binding

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from orderdesk.models import Staff
    from orderdesk.wecom.events import Event


def _audience(event: Event, binding: ChatBinding | None) -> str:
    if getattr(event, "chat_type", "single") != "group":
        return "private"
    if binding is not None and binding.audience == "client":
        return "client"
    return "internal"


def _binding(session: Session, event: Event) -> ChatBinding | None:
    if getattr(event, "chat_type", "single") != "group":
        return None
    return group_binding(session, getattr(event, "chat_id", None))


@dataclass(frozen=True)
class View:
    """The reader of a reply. Handlers ask it before showing anything sensitive."""

    audience: str  # private | internal | client
    actor: Staff
    binding: ChatBinding | None = None

    @property
    def is_client(self) -> bool:
        return self.audience == "client"

    @property
    def shows_internal(self) -> bool:
        """Approval steps and internal notes: 1:1 and internal groups only."""
        return self.audience != "client"

    @property
    def customer_id(self) -> int | None:
        """In a client group: the only customer whose data may appear."""
        if not self.is_client or self.binding is None:
            return None
        if self.binding.customer_id is not None:
            return self.binding.customer_id
        return -1  # a client group bound to nothing in particular shows nothing

    def allows_order(self, order: Order) -> bool:
        if not self.is_client:
            return True
        return order.customer_id == self.customer_id

    def shows_money(self, order: Order) -> bool:
        if not can_see_money(self.actor, order):
            return False
        if self.audience == "private":
            return True
        # In a group only a group bound on purpose shows money; a client sees its own amounts.
        return self.binding is not None and self.allows_order(order)


def view_for(session: Session, event: Event, actor: Staff) -> View:
    """Who will read the reply; one binding look-up (the router does it once per message)."""
    binding = _binding(session, event)
    return View(audience=_audience(event, binding), actor=actor, binding=binding)
