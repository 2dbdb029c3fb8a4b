"""Command families. Importing this package registers every handler on `bot.router.router`."""

from orderdesk.bot.handlers import approvals, bindings, customers, help, money, orders, work

__all__ = ["approvals", "bindings", "customers", "help", "money", "orders", "work"]
