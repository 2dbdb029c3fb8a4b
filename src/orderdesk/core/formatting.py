"""How amounts read in every text a person sees (chat replies, cards, timelines, digests)."""

from __future__ import annotations

import re
from decimal import Decimal
from urllib.parse import quote


def money(value: Decimal | None) -> str:
    """¥12,000.00 (Decimal in, never float); "-" when there is no amount."""
    if value is None:
        return "-"
    return f"¥{value:,.2f}"


def attachment_disposition(name: str) -> str:
    """`Content-Disposition` for a download named `name`: an ASCII fallback `filename` and the
    real name as RFC 5987 `filename*` (every browser WeCom embeds reads the latter; the
    fallback keeps the extension). Every download of ours goes through this one function."""
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", name) or "file"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"
