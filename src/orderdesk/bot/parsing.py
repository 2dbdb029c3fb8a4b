"""Parsing of what people type: normalisation, amounts, dates, hours and argument splitting.

Everything here is pure (no database, no clock of its own: callers pass `today`) and raises only
`BadArguments`, whose message is Chinese and shown to the user together with the command's usage.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from orderdesk.core.parsing import day_in_range
from orderdesk.orders.numbers import normalize_number

MAX_AMOUNT = Decimal("9999999999999999.99")  # Numeric(18, 2)
CENT = Decimal("0.01")

ORDER_NUMBER_RE = re.compile(r"^SO-\d{4}-\d{1,6}$", re.IGNORECASE)
_PLAIN_NUMBER = r"\d+(?:\.\d+)?"
_GROUPED_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?"
_AMOUNT_RE = re.compile(
    rf"^(?:¥|RMB|CNY)?\s*(?P<num>{_GROUPED_NUMBER}|{_PLAIN_NUMBER})\s*(?P<unit>万|w|千|k)?\s*元?$",
    re.IGNORECASE | re.ASCII,
)
_HOURS_RE = re.compile(
    r"^(?P<num>\d{1,4}(?:\.\d{1,6})?)\s*(?:h|小时|个小时|hrs?|hours?)?$", re.IGNORECASE | re.ASCII
)
_ISO_DATE_RE = re.compile(r"^(?P<y>\d{4})[-/.年](?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})日?$", re.ASCII)
_SHORT_DATE_RE = re.compile(r"^(?P<m>\d{1,2})[/.月-](?P<d>\d{1,2})日?$", re.ASCII)
_RELATIVE_DAYS = {
    "今天": 0,
    "today": 0,
    "昨天": 1,
    "yesterday": 1,
    "前天": 2,
}
_UNITS = {"万": Decimal(10000), "w": Decimal(10000), "千": Decimal(1000), "k": Decimal(1000)}


class BadArguments(ValueError):
    """The arguments of a command could not be understood; `message` is Chinese."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def normalize(text: str) -> str:
    """NFKC (full-width letters, digits, space and punctuation become ASCII), one space between
    words, no control characters, trimmed."""
    text = unicodedata.normalize("NFKC", text or "")
    text = "".join(ch if ch.isprintable() or ch.isspace() else " " for ch in text)
    return " ".join(text.split())


def split_args(args: str, maxsplit: int = -1) -> list[str]:
    """Split on whitespace; with `maxsplit` the last item keeps the rest of the text intact."""
    args = args.strip()
    if not args:
        return []
    return args.split(None, maxsplit) if maxsplit >= 0 else args.split()


def is_order_number(text: str) -> bool:
    return bool(ORDER_NUMBER_RE.match(text.strip()))


def parse_amount(text: str) -> Decimal:
    """`12000`, `1.2万`, `12,000.00`, `¥12000`, `3k`, `5000元` -> Decimal with two places, > 0."""
    cleaned = normalize(text).replace(" ", "")
    match = _AMOUNT_RE.match(cleaned)
    if match is None:
        raise BadArguments(f"金额「{text.strip()}」看不懂,请写成 12000、1.2万 或 12,000.00")
    try:
        value = Decimal(match.group("num").replace(",", ""))
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only digits
        raise BadArguments(f"金额「{text.strip()}」看不懂") from exc
    unit = (match.group("unit") or "").lower()
    if unit:
        value *= _UNITS[unit]
    if value > MAX_AMOUNT:  # checked first: quantize() of a huge value overflows the context
        raise BadArguments("金额太大了")
    if value != value.quantize(CENT):
        raise BadArguments("金额最多精确到分(两位小数)")
    value = value.quantize(CENT)
    if value <= 0:
        raise BadArguments("金额必须大于 0")
    return value


def parse_hours(text: str) -> Decimal:
    """`2`, `2.5`, `2h`, `3小时` -> Decimal hours with 0 < hours <= 24 (quarter-hour precision
    is enough for a timesheet, two decimals are kept)."""
    match = _HOURS_RE.match(normalize(text).replace(" ", ""))
    if match is None:
        raise BadArguments(f"工时「{text.strip()}」看不懂,请写成小时数,如 2 或 1.5")
    value = Decimal(match.group("num"))
    if value != value.quantize(CENT):
        raise BadArguments("工时最多两位小数")
    if not (Decimal(0) < value <= Decimal(24)):
        raise BadArguments("工时必须大于 0 且不超过 24 小时")
    return value.quantize(CENT)


def parse_date(text: str, *, today: date) -> date:
    """`2026-12-01`, `2026/12/1`, `12/1`, `12月1日`, `今天`, `昨天` -> date.

    `today` is the company-time date (core.clock.today(settings.tz)). A date without a year
    means the nearest such day to today (so `12/30` typed on 2 January is last December)."""
    raw = normalize(text).replace(" ", "").lower()
    if raw in _RELATIVE_DAYS:
        return today - timedelta(days=_RELATIVE_DAYS[raw])
    match = _ISO_DATE_RE.match(raw)
    if match:
        return _make_date(int(match["y"]), int(match["m"]), int(match["d"]), text)
    match = _SHORT_DATE_RE.match(raw)
    if match:
        month, day = int(match["m"]), int(match["d"])
        candidates = []
        for year in (today.year - 1, today.year, today.year + 1):
            try:
                candidates.append(date(year, month, day))
            except ValueError:
                continue
        if not candidates:
            raise BadArguments(f"日期「{text.strip()}」不存在")
        return min(candidates, key=lambda d: abs((d - today).days))
    raise BadArguments(f"日期「{text.strip()}」看不懂,请写成 2026-12-01、12/1、今天 或 昨天")


def looks_like_date(text: str) -> bool:
    raw = normalize(text).replace(" ", "").lower()
    return bool(raw in _RELATIVE_DAYS or _ISO_DATE_RE.match(raw) or _SHORT_DATE_RE.match(raw))


def _make_date(year: int, month: int, day: int, original: str) -> date:
    try:
        result = date(year, month, day)
    except ValueError as exc:
        raise BadArguments(f"日期「{original.strip()}」不存在") from exc
    if not day_in_range(result):  # same bounds as the API (core.parsing)
        raise BadArguments(f"日期「{original.strip()}」超出范围(1990 至 2100 年)")
    return result


def order_ref(text: str) -> str:
    """An order number as the services store it ('so-2026-1' -> 'SO-2026-0001'); anything else
    (a project code, a typo) upper-cased and passed on for the service to judge."""
    return normalize_number(text) or text.strip().upper()
