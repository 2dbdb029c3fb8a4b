"""Command families. Importing this package registers every handler on `bot.router.router`."""

from orderdesk.bot.handlers import (
    approvals,
    bindings,
    help,
    money,
    orders,
    reports,  # issue 13
    work,
)

__all__ = ["approvals", "bindings", "help", "money", "orders", "reports", "work"]
