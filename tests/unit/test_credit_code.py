"""统一社会信用代码 check digit (GB 32100-2015) and pinyin initials for search."""

from __future__ import annotations

import pytest

from orderdesk.core.pinyin import initials_of
from orderdesk.directory.credit_code import ALPHABET, check_character, normalize_credit_code

# Published codes of real companies (business licences are public).
VALID = ["91350100M000100Y43", "91110000802100433B", "91440300708461136T"]


@pytest.mark.parametrize("code", VALID)
def test_published_codes_pass(code: str) -> None:
    assert normalize_credit_code(code) == code
    assert normalize_credit_code(f" {code.lower()} ") == code


@pytest.mark.parametrize("code", VALID)
def test_every_other_check_character_is_refused(code: str) -> None:
    for ch in ALPHABET:
        if ch != code[17]:
            assert normalize_credit_code(code[:17] + ch) is None


@pytest.mark.parametrize(
    "raw",
    ["", "91350100M000100Y4", "91350100M000100Y433", "91350100M000100I43", "9135010０M000100Y43"],
)
def test_wrong_length_or_alphabet_is_refused(raw: str) -> None:
    assert normalize_credit_code(raw) is None


def test_check_character_of_zero_sum_is_zero() -> None:
    assert check_character("0" * 17) == "0"


def test_initials_of_chinese_and_latin() -> None:
    assert initials_of("杭州青禾数字科技") == "HZQHSZKJ"
    assert initials_of("ABC 云启 2号") == "ABCYQ2H"
