"""Pinyin initials for search: people type "hzqh" to find 杭州青禾."""

from __future__ import annotations

from pypinyin import Style, lazy_pinyin


def initials_of(text: str) -> str:
    """Upper-case initials ("杭州青禾" -> "HZQH"); letters and digits in the text kept as typed
    (one letter each for Chinese characters, whole runs for Latin words and numbers)."""
    letters = lazy_pinyin(text, style=Style.FIRST_LETTER, errors="default")
    return "".join(ch for ch in "".join(letters).upper() if ch.isalnum())[:128]
