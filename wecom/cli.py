"""`orderdesk outbox`: inspect and retry outgoing messages."""

from __future__ import annotations

import click


def register(main: click.Group) -> None:
    """Attach the outbox commands to the `orderdesk` group."""
