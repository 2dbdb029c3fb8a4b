"""bot/parsing.py: amounts, dates, hours and normalisation, including arbitrary input."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orderdesk.bot.parsing import (
    BadArguments,
    is_order_number,
    normalize,
    parse_amount,
    parse_date,
    parse_hours,
    split_args,
)

TODAY = date(2026, 11, 27)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12000", "12000.00"),
        ("1.2万", "12000.00"),
        ("12,000.00", "12000.00"),
        ("¥12000", "12000.00"),
        ("￥12000", "12000.00"),  # full-width yen
        ("１２０００", "12000.00"),  # full-width digits
        ("3k", "3000.00"),
        ("5000元", "5000.00"),
        ("0.01", "0.01"),
        ("1,234,567.89", "1234567.89"),
        ("1.23456万", "12345.60"),
    ],
)
def test_amounts(raw: str, expected: str) -> None:
    value = parse_amount(raw)
    assert value == Decimal(expected)
    assert isinstance(value, Decimal)
    assert value.as_tuple().exponent == -2


@pytest.mark.parametrize(
    "raw",
    ["", "abc", "12,00", "1.2.3", "-5", "0", "0.00", "NaN", "Infinity", "1e5", "12.345", "万"],
)
def test_bad_amounts(raw: str) -> None:
    with pytest.raises(BadArguments) as info:
        parse_amount(raw)
    assert info.value.message  # a Chinese explanation, shown with the usage


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-12-01", date(2026, 12, 1)),
        ("2026/12/1", date(2026, 12, 1)),
        ("12/1", date(2026, 12, 1)),
        ("11/1", date(2026, 11, 1)),
        ("12月1日", date(2026, 12, 1)),
        ("今天", TODAY),
        ("昨天", date(2026, 11, 26)),
        ("today", TODAY),
        ("YESTERDAY", date(2026, 11, 26)),
    ],
)
def test_dates(raw: str, expected: date) -> None:
    assert parse_date(raw, today=TODAY) == expected


def test_short_date_picks_the_nearest_year() -> None:
    assert parse_date("12/30", today=date(2027, 1, 2)) == date(2026, 12, 30)
    assert parse_date("1/3", today=date(2026, 12, 30)) == date(2027, 1, 3)
    # 29 February only exists in some years: the nearest one that has it.
    assert parse_date("2/29", today=date(2027, 11, 1)) == date(2028, 2, 29)


@pytest.mark.parametrize(
    "raw",
    ["2026-13-01", "2026-02-30", "13/40", "明天吧", "", "2026", "0001-01-01", "2101/1/1"],
)
def test_bad_dates(raw: str) -> None:
    with pytest.raises(BadArguments):
        parse_date(raw, today=TODAY)


@pytest.mark.parametrize(
    ("raw", "expected"), [("2", "2.00"), ("2.5", "2.50"), ("3h", "3.00"), ("8小时", "8.00")]
)
def test_hours(raw: str, expected: str) -> None:
    assert parse_hours(raw) == Decimal(expected)


@pytest.mark.parametrize("raw", ["0", "24.01", "25", "-1", "abc", "1.234", ""])
def test_bad_hours(raw: str) -> None:
    with pytest.raises(BadArguments, match="工时"):
        parse_hours(raw)


def test_normalize_full_width_and_whitespace() -> None:
    assert normalize("　ＨＥＬＰ　　查\tＳＯ－２０２６－０００１\n") == "HELP 查 SO-2026-0001"
    assert normalize("a\x00b") == "a b"


def test_order_numbers_and_splitting() -> None:
    assert is_order_number("so-2026-0001")
    assert not is_order_number("SO-2026")
    assert split_args("SO-1  价格  合理", 1) == ["SO-1", "价格  合理"]
    assert split_args("   ") == []


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_parsers_only_raise_bad_arguments(raw: str) -> None:
    for parse in (parse_amount, parse_hours, lambda r: parse_date(r, today=TODAY)):
        try:
            value = parse(raw)
        except BadArguments as exc:
            assert exc.message
        else:
            assert value is not None
    assert normalize(raw) == normalize(normalize(raw))
