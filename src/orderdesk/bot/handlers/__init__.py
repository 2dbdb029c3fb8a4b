"""Command families. Importing this package registers every handler on `bot.router.router`."""

from orderdesk.bot.handlers import (
    approvals,
    bindings,
    customers,
    delivery,
    help,
    money,
    orders,
    plans,
    reports,
    tasks,
    work,
)

__all__ = [
    "approvals",
    "bindings",
    "customers",
    "delivery",
    "help",
    "money",
    "orders",
    "plans",
    "reports",
    "tasks",
    "work",
]
