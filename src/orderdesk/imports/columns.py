"""Columns of an import sheet: the Chinese header, its synonyms, how a cell is read, and the
drop-down list a template offers. Header matching ignores spaces, full-width forms, a trailing
`*` (required mark) and a `(元)` unit; a header in 万元 is refused (the amounts would be read
ten thousand times too small), not guessed."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from orderdesk.imports.values import CellError, clean, read_amount, read_date

_UNIT = re.compile(r"[((]\s*(人民币)?元\s*[))]$")


def norm_header(raw: Any) -> str:
    text = re.sub(r"\s+", "", clean(raw)).rstrip("*")
    return _UNIT.sub("", text)


def read_text(raw: Any) -> str:
    text = re.sub(r"\s+", " ", clean(raw))
    if isinstance(raw, float) and raw == int(raw):
        text = str(int(raw))  # a code typed as a number: 1001.0 -> "1001"
    if len(text) > 200:
        raise CellError("内容过长(最多 200 字)")
    return text


def read_int(raw: Any) -> int:
    text = clean(raw)
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise CellError(f"应为整数:「{text}」") from exc
    if value != value.to_integral_value() or value < 1 or value > 999:
        raise CellError(f"应为 1 至 999 的整数:「{text}」")
    return int(value)


def read_rate(raw: Any) -> Decimal:
    """A tax rate: `6%`, `0.06` or `6` (percent when above 1)."""
    text = clean(raw).rstrip("%")
    try:
        value = Decimal(str(raw)) if isinstance(raw, float) else Decimal(text)
    except InvalidOperation as exc:
        raise CellError(f"税率无法识别:「{clean(raw)}」(例:6%、0.06)") from exc
    if value >= 1:
        value = value / 100
    if not Decimal(0) <= value < 1:
        raise CellError(f"税率应在 0 到 100% 之间:「{clean(raw)}」")
    return value.quantize(Decimal("0.0001"))


def choice(options: dict[str, str]) -> Callable[[Any], str]:
    """A reader for an enumeration: the Chinese name or the code, both accepted."""
    lookup = {clean(k).lower(): v for k, v in options.items()}
    lookup.update({v.lower(): v for v in options.values()})

    def read(raw: Any) -> str:
        text = clean(raw)
        found = lookup.get(text.lower())
        if found is None:
            shown = "、".join(k for k in options if not k.isascii())
            raise CellError(f"「{text}」不是可选值(可选:{shown})")
        return found

    return read


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    synonyms: tuple[str, ...] = ()
    read: Callable[[Any], Any] = read_text
    required: bool = False
    example: Any = ""
    # Static drop-down values for the template; dynamic ones come from the kind (staff, types).
    options: tuple[str, ...] = ()

    def names(self) -> set[str]:
        return {norm_header(n) for n in (self.title, *self.synonyms)}


AMOUNT = read_amount
DATE = read_date


def match_headers(
    columns: Sequence[Column], labels: Sequence[tuple[str, ...]]
) -> tuple[dict[str, int], list[str]]:
    """Column key -> sheet position, and the problems (duplicate or ambiguous headers)."""
    found: dict[str, int] = {}
    problems: list[str] = []
    for pos, texts in enumerate(labels):
        for text in texts:
            name = norm_header(text)
            if "万元" in name:
                problems.append(f"表头「{text}」以万元为单位,请改为元后再导入")
                break
            hits = [c for c in columns if name in c.names()]
            if not hits:
                continue
            col = hits[0]
            if col.key in found and found[col.key] != pos:
                where = f"第 {found[col.key] + 1} 列和第 {pos + 1} 列"
                problems.append(f"表头「{col.title}」出现了两次({where}),无法确定用哪一列")
            found.setdefault(col.key, pos)
            break
    return found, problems


def score(columns: Sequence[Column], labels: Sequence[tuple[str, ...]]) -> int:
    return len(match_headers(columns, labels)[0])
