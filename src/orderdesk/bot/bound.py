"""The order a group chat is bound to: in such a group `查`, `进度`, `工时` and `回款` act on it
without its number being typed (a number typed explicitly still wins)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orderdesk.orders.bindings import binding_order
from orderdesk.orders.numbers import normalize_number

if TYPE_CHECKING:
    from orderdesk.bot.router import Context


def bound_order_number(ctx: Context) -> str | None:
    """The number of the order bound to this group (directly, or through its project), or None
    in a 1:1 chat, an unbound group or a group bound only to a customer."""
    binding = ctx.view.binding if ctx.in_group else None
    order = binding_order(ctx.session, binding) if binding is not None else None
    return order.number if order is not None else None


def names_order(word: str) -> bool:
    """Whether the first word of the arguments is an explicit order number."""
    return bool(normalize_number(word))
