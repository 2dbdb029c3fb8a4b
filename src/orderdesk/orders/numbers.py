"""Order numbers SO-YYYY-NNNN: the year in the company's time zone, a sequence per year.

Concurrency: the next number is read as max+1 and inserted inside a savepoint; a concurrent
transaction that took the same number makes our insert fail on the unique index (on PostgreSQL
it waits until the other commits), so we roll back the savepoint and read again. No counter row
means no hot row lock held for the whole business transaction.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.core.errors import Conflict
from orderdesk.models import Order

NUMBER_RE = re.compile(r"^\s*SO[-_ ]?(\d{4})[-_ ]?(\d{1,6})\s*$", re.IGNORECASE)
MAX_ATTEMPTS = 25


def format_number(year: int, seq: int) -> str:
    return f"SO-{year}-{seq:04d}"


def normalize_number(text: str) -> str | None:
    """'so-2026-1', 'SO20260001', ' SO-2026-0001 ' -> 'SO-2026-0001'; None if not a number."""
    match = NUMBER_RE.match(text or "")
    if not match:
        return None
    return format_number(int(match.group(1)), int(match.group(2)))


def next_number(session: Session, year: int) -> str:
    prefix = f"SO-{year}-"
    last = session.scalar(
        select(Order.number)
        .where(Order.number.like(f"{prefix}%"))
        # Longest first, then lexical: SO-2026-10000 sorts after SO-2026-9999.
        .order_by(func.length(Order.number).desc(), Order.number.desc())
        .limit(1)
    )
    seq = int(last[len(prefix) :]) + 1 if last else 1
    return format_number(year, seq)


def insert_with_number(session: Session, order: Order, *, tz: ZoneInfo | None = None) -> str:
    """Give `order` the next free number and INSERT it (flush); retried on a collision."""
    year = clock.today(tz or clock.company_tz(session)).year
    for _ in range(MAX_ATTEMPTS):
        candidate = next_number(session, year)
        order.number = candidate
        try:
            with session.begin_nested():
                session.add(order)
                session.flush()
            return candidate
        except IntegrityError:
            taken = session.scalar(select(Order.id).where(Order.number == candidate))
            if taken is None:
                raise  # some other constraint failed: not ours to retry
    raise Conflict("订单编号生成冲突,请重试")
