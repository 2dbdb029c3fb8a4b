"""Command families. Importing this package registers every handler on `bot.router.router`."""

from orderdesk.bot.handlers import (
    approvals,
    bindings,
    customers,
    delivery,
    expenses,
    help,
    money,
    orders,
    reports,
    tasks,
    work,
)

__all__ = [
    "approvals",
    "bindings",
    "customers",
    "delivery",
    "expenses",
    "help",
    "money",
    "orders",
    "reports",
    "tasks",
    "work",
]
