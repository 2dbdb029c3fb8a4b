"""`orderdesk chat` and `orderdesk click`: drive the bot without a WeCom tenant."""

from __future__ import annotations

import click


def register(main: click.Group) -> None:
    """Attach the bot commands to the `orderdesk` group."""
