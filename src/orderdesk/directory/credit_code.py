"""统一社会信用代码 (unified social credit code), GB 32100-2015: 18 characters from a 31-symbol
alphabet (no I, O, S, V, Z); the last is a check character over the first 17."""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_character(first17: str) -> str:
    total = sum(ALPHABET.index(ch) * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def normalize_credit_code(raw: str) -> str | None:
    """The code in upper case, or None when it is not a valid credit code."""
    code = raw.strip().upper()
    if len(code) != 18 or any(ch not in ALPHABET for ch in code):
        return None
    return code if check_character(code[:17]) == code[17] else None
