"""Reading a change's figures as people type them: "+3万", "-5000", "+1.2万", "延期2周",
"延期10天", "提前3天". Schedule deltas are calendar days (a week is 7 days)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from orderdesk.core.errors import ValidationFailed

CENT = Decimal("0.01")
# Bigger than any order we could hold (Numeric(18, 2)); refuses typos like +30000000万.
MAX_DELTA = Decimal("1000000000")
MAX_DAYS = 3650
AMOUNT_RE = re.compile(r"^([+\-＋－])\s*(\d+(?:\.\d+)?)\s*(万|w|W|元|k|K)?$")
SCHEDULE_RE = re.compile(
    r"^(延期|推迟|顺延|提前|delay|advance)\s*(\d{1,4})\s*(周|天|日|w|d)?$", re.I
)
SCHEDULE_WORD_RE = re.compile(r"^(延期|推迟|顺延|提前|delay|advance)$", re.I)
UNITS = {"万": Decimal("10000"), "w": Decimal("10000"), "k": Decimal("1000")}


@dataclass(frozen=True)
class ChangeWords:
    """What a chat line says: the scope text, the signed amount delta, the schedule delta."""

    scope: str
    amount_delta: Decimal
    schedule_days: int


def amount_token(token: str) -> Decimal | None:
    """A signed amount ("+3万", "-5000", "+1.2万", "-2k"), or None when `token` is not one."""
    match = AMOUNT_RE.match(token.strip())
    if match is None:
        return None
    sign, number, unit = match.groups()
    value = Decimal(number) * UNITS.get((unit or "").lower(), Decimal("1"))
    return -value if sign in "-－" else value


def schedule_token(token: str) -> int | None:
    """Signed calendar days ("延期2周" = 14, "提前3天" = -3), or None when not a schedule."""
    match = SCHEDULE_RE.match(token.strip())
    if match is None:
        return None
    word, number, unit = match.groups()
    days = int(number) * (7 if (unit or "").lower() in ("周", "w") else 1)
    return -days if word.lower() in ("提前", "advance") else days


def parse_words(words: list[str]) -> ChangeWords:
    """Split the words after the order number into scope, amount and schedule."""
    amount: Decimal | None = None
    days: int | None = None
    scope: list[str] = []
    queue = list(words)
    while queue:
        word = queue.pop(0)
        value = amount_token(word)
        if value is not None and amount is None:
            amount = value
            continue
        # "delay 2w" / "延期 2周" typed as two words reads as one schedule
        joined = f"{word}{queue[0]}" if queue and SCHEDULE_WORD_RE.match(word) else word
        shift = schedule_token(joined)
        if shift is not None and days is None:
            days = shift
            if joined != word:
                queue.pop(0)
            continue
        scope.append(word)
    return ChangeWords(" ".join(scope).strip(), amount or Decimal("0"), days or 0)


def check_delta(raw: Any) -> Decimal:
    """The amount delta as Decimal cents (API: a number or a string like "+30000" / "-5000")."""
    if isinstance(raw, bool) or raw is None:
        raise ValidationFailed("变更金额无效", fields={"amount_delta": "invalid"})
    token = str(raw).strip()
    value = amount_token(token if token[:1] in "+-＋－" else f"+{token}")
    if value is None:
        try:
            value = Decimal(token)
        except InvalidOperation:
            value = None
    if value is None or not value.is_finite() or abs(value) > MAX_DELTA:
        raise ValidationFailed(
            "变更金额无效(如 +30000、-5000、+3万)", fields={"amount_delta": "invalid"}
        )
    if value != value.quantize(CENT):
        raise ValidationFailed("变更金额最多两位小数", fields={"amount_delta": "precision"})
    return value.quantize(CENT)


def check_days(raw: Any) -> int:
    """Schedule delta in calendar days, within ±10 years."""
    if isinstance(raw, bool) or not isinstance(raw, int) or abs(raw) > MAX_DAYS:
        raise ValidationFailed(
            f"工期变化须为 -{MAX_DAYS} 到 {MAX_DAYS} 之间的整数天数",
            fields={"schedule_days": "invalid"},
        )
    return raw
