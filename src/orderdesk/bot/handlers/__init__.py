"""Command families. Importing this package registers every handler on `bot.router.router`."""

from orderdesk.bot.handlers import (
    approvals,
    bindings,
    changes,
    customers,
    deliverables,
    delivery,
    expenses,
    help,
    money,
    orders,
    plans,
    reports,
    tasks,
    tickets,
    work,
)

__all__ = [
    "approvals",
    "bindings",
    "changes",
    "customers",
    "deliverables",
    "delivery",
    "expenses",
    "help",
    "money",
    "orders",
    "plans",
    "reports",
    "tasks",
    "tickets",
    "work",
]
