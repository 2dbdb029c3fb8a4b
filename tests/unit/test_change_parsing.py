"""How a change's figures are read from chat and from the API."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orderdesk.core.errors import ValidationFailed
from orderdesk.orders.changes.parsing import (
    amount_token,
    check_days,
    check_delta,
    parse_words,
    schedule_token,
)


@pytest.mark.parametrize(
    ("token", "value"),
    [
        ("+3万", Decimal("30000")),
        ("-5000", Decimal("-5000")),
        ("+1.2万", Decimal("12000.0")),
        ("-2k", Decimal("-2000")),
        ("＋8000元", Decimal("8000")),
        ("3万", None),  # unsigned: part of the scope text, not a delta
        ("+", None),
        ("增加", None),
    ],
)
def test_amount_tokens(token: str, value: Decimal | None) -> None:
    assert amount_token(token) == value


@pytest.mark.parametrize(
    ("token", "days"),
    [
        ("延期2周", 14),
        ("延期10天", 10),
        ("提前3天", -3),
        ("delay5d", 5),
        ("advance 2w", -14),
        ("延期", None),
        ("延期两周", None),
    ],
)
def test_schedule_tokens(token: str, days: int | None) -> None:
    assert schedule_token(token) == days


def test_words_split_into_scope_amount_schedule() -> None:
    parsed = parse_words(["增加移动端", "+3万", "延期2周"])
    assert (parsed.scope, parsed.amount_delta, parsed.schedule_days) == (
        "增加移动端",
        Decimal("30000"),
        14,
    )
    english = parse_words(["add", "app", "+3000", "delay", "2w"])
    assert (english.scope, english.amount_delta, english.schedule_days) == (
        "add app",
        Decimal("3000"),
        14,
    )
    only_scope = parse_words(["换", "UI", "风格"])
    assert (only_scope.scope, only_scope.amount_delta, only_scope.schedule_days) == (
        "换 UI 风格",
        Decimal("0"),
        0,
    )


def test_api_values_are_checked() -> None:
    assert check_delta("+30000") == Decimal("30000.00")
    assert check_delta("-5000.5") == Decimal("-5000.50")
    assert check_delta(1200) == Decimal("1200.00")
    for bad in ("abc", "1.234", "+99999999999", None, True, "NaN"):
        with pytest.raises(ValidationFailed):
            check_delta(bad)
    assert check_days(-3) == -3
    for bad_days in (3651, "7", 1.5, True):
        with pytest.raises(ValidationFailed):
            check_days(bad_days)
