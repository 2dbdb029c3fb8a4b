"""Every import kind's template example reads back through the parser (or the import could not
recognise, and skip, an untouched example row), and fills every required column."""

from __future__ import annotations

import pytest

from orderdesk.directory.credit_code import normalize_credit_code
from orderdesk.imports.engine import example_values
from orderdesk.imports.service import KIND_CLASSES, KINDS


@pytest.mark.parametrize("kind", KINDS)
def test_example_reads_back_and_fills_the_required_columns(kind: str) -> None:
    columns = KIND_CLASSES[kind].columns
    values = example_values(columns)
    assert values is not None, f"the {kind} example does not parse"
    assert all(values[c.key] is not None for c in columns if c.required)


def test_the_customer_example_has_a_valid_credit_code() -> None:
    """A user who edits the example into a real customer must not meet a bad check digit."""
    example = {c.key: c.example for c in KIND_CLASSES["customers"].columns}
    assert normalize_credit_code(example["credit_code"]) == example["credit_code"]
