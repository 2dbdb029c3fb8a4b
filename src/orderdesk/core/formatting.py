"""How amounts read in every text a person sees (chat replies, cards, timelines, digests)."""

from __future__ import annotations

from decimal import Decimal


def money(value: Decimal | None) -> str:
    """¥12,000.00 (Decimal in, never float); "-" when there is no amount."""
    if value is None:
        return "-"
    return f"¥{value:,.2f}"
