"""Invoice tax split: tax = round_half_up(amount * rate / (1 + rate), 2), excl = amount - tax."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest

from orderdesk.core.errors import ValidationFailed
from orderdesk.money.invoices import invoice_kind, tax_split

D = Decimal


@pytest.mark.parametrize(
    ("amount", "rate", "excl", "tax"),
    [
        ("1000.00", "0.06", "943.40", "56.60"),  # 56.6037... -> 56.60
        ("10000.00", "0.13", "8849.56", "1150.44"),  # 1150.4424... -> 1150.44
        ("106.00", "0.06", "100.00", "6.00"),
        ("0.01", "0.06", "0.01", "0.00"),
        ("0.09", "0.06", "0.08", "0.01"),  # 0.005094... -> 0.01
        ("3000.00", "0", "3000.00", "0.00"),
    ],
)
def test_known_splits(amount: str, rate: str, excl: str, tax: str) -> None:
    assert tax_split(D(amount), D(rate)) == (D(excl), D(tax))


def test_split_adds_up_and_rounds_half_up_for_every_cent() -> None:
    for rate in (D("0.03"), D("0.06"), D("0.09"), D("0.13")):
        for cents in range(1, 5000, 7):
            amount = D(cents) / 100
            excl, tax = tax_split(amount, rate)
            assert excl + tax == amount
            exact = amount * rate / (1 + rate)
            assert tax == exact.quantize(D("0.01"), rounding=ROUND_HALF_UP)
            assert abs(tax - exact) <= D("0.005")


def test_kinds_by_code_or_chinese_name() -> None:
    assert invoice_kind(None) == "e_general"
    assert invoice_kind("数电专票") == "e_special"
    assert invoice_kind("paper_general") == "paper_general"
    with pytest.raises(ValidationFailed):
        invoice_kind("增值税发票")
