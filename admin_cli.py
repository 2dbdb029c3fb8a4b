"""Admin sub-commands: demo data, staff, configuration."""

from __future__ import annotations

import click


def register(main: click.Group) -> None:
    """Attach the admin commands to the `orderdesk` group."""
