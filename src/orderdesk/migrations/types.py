"""Column types for revisions, copied from the models so that a revision never imports them.

`alembic revision --autogenerate` renders `mtypes.UTCDateTime()` and `mtypes.Money()` (see
env.py's `user_module_prefix` and script.py.mako). A migration needs the storage type only:
the Python-side conversions stay in models/base.py.
"""

from __future__ import annotations

import sqlalchemy as sa


def UTCDateTime() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def Money() -> sa.Numeric:
    return sa.Numeric(18, 2, asdecimal=True)
