"""Messy cells of real sheets (issue 13): every kind of amount and date the issue names, and the
ambiguous ones refused with a Chinese reason."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from orderdesk.imports.values import CellError, clean, read_amount, read_date

D = Decimal


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1.2万", D("12000.00")),
        ("¥12,000.00", D("12000.00")),
        ("12000元", D("12000.00")),
        ("￥１２０００", D("12000.00")),  # full-width digits and yen sign
        ("  3,456.7 ", D("3456.70")),
        ("0.5亿", D("50000000.00")),
        (12000, D("12000.00")),
        (1234.56, D("1234.56")),
        (D("99.9"), D("99.90")),
    ],
)
def test_amounts(raw: object, value: Decimal) -> None:
    assert read_amount(raw) == value


@pytest.mark.parametrize("raw", ["1.234,56", "12,00", "-5", "abc", "", "1.005", "1.2万万", True])
def test_ambiguous_or_bad_amounts_are_refused(raw: object) -> None:
    with pytest.raises(CellError) as err:
        read_amount(raw)
    assert "金额" in str(err.value)


@pytest.mark.parametrize(
    ("raw", "day"),
    [
        (46027, date(2026, 1, 5)),  # Excel serial
        ("46027", date(2026, 1, 5)),  # serial through a CSV
        ("2026/1/5", date(2026, 1, 5)),
        ("2026年1月5日", date(2026, 1, 5)),
        ("2026.01.05", date(2026, 1, 5)),
        ("２０２６－０１－０５", date(2026, 1, 5)),  # full-width
        (" 2026-1-5 ", date(2026, 1, 5)),
        (datetime(2026, 1, 5, 0, 0), date(2026, 1, 5)),
        (date(2026, 1, 5), date(2026, 1, 5)),
    ],
)
def test_dates(raw: object, day: date) -> None:
    assert read_date(raw) == day


@pytest.mark.parametrize("raw", ["01/02/2026", "2026-02-30", "明天", "", 46027.5, "1899-12-31"])
def test_ambiguous_or_bad_dates_are_refused(raw: object) -> None:
    with pytest.raises(CellError) as err:
        read_date(raw)
    assert "日期" in str(err.value)


def test_clean_normalises_full_width_and_spaces() -> None:
    assert clean("\u3000ＡＢＣ 公司 ") == "ABC 公司"
    assert clean(None) == ""
