"""Command families. Importing this package registers every handler on `bot.router.router`."""

from orderdesk.bot.handlers import approvals, bindings, help, money, orders, tasks, work

__all__ = ["approvals", "bindings", "help", "money", "orders", "work"]
__all__ += ["tasks"]  # issue 12c
