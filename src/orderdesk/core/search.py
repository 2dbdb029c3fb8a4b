"""The searchable text of an order (`orders.search_text`), shaped for PostgreSQL's trigram
index (pg_trgm).

Why the odd shape: a trigram index cannot serve `LIKE '%滨江%'`: a two-character pattern has
no trigram, so the index is read whole (measured: every row a candidate). Writing every
character followed by "x" ("滨江" -> "滨x江x") turns any pattern of two characters or more into
one of four or more, which the index narrows to the rows that contain it. The "x" can cause a
false candidate (a search for "x"), so the query always re-checks the real columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

SENTINEL = "x"
MAX_CHARS = 2000  # the shaped text is twice this at most


def shaped(text: str) -> str:
    """`text` with SENTINEL after every character (the same for the stored text and a query)."""
    return "".join(ch + SENTINEL for ch in text)


def _values(custom_fields: Mapping[str, Any] | None) -> Iterable[str]:
    for value in (custom_fields or {}).values():
        if isinstance(value, list):
            yield " ".join(map(str, value))
        elif value is not None and value != "":
            yield str(value)


def order_search_text(number: str, title: str | None, custom: Mapping[str, Any] | None) -> str:
    """Number, title and custom-field values, space-separated, shaped."""
    plain = " ".join([number or "", title or "", *_values(custom)])
    return shaped(plain[:MAX_CHARS])
