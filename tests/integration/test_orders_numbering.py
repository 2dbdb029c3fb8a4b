"""Order numbers stay unique and gap-free when many people create orders at the same moment."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, select

from orderdesk.core import clock
from orderdesk.directory.staff import get_active_staff
from orderdesk.models import Activity, Order
from orderdesk.orders import service as orders
from orderdesk.runtime import Runtime
from tests.order_world import build_world, order_data

THREADS = 8


def test_concurrent_creates_get_distinct_consecutive_numbers(rt: Runtime) -> None:
    with rt.db.transaction() as setup:
        build_world(setup)
    barrier = threading.Barrier(THREADS, timeout=30)
    numbers: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def create(userid: str) -> None:
        try:
            with rt.db.transaction() as s:
                actor = get_active_staff(s, userid)
                barrier.wait()  # everyone reads "max + 1" at the same moment
                order = orders.create_order(s, actor=actor, data=order_data())
                number = order.number
            with lock:
                numbers.append(number)
        except BaseException as exc:  # surfaced below with the thread's error
            with lock:
                errors.append(exc)

    with clock.frozen(datetime(2026, 6, 1, 2, 0, tzinfo=UTC)):
        threads = [
            threading.Thread(target=create, args=("sales1" if i % 2 else "mgr1",))
            for i in range(THREADS)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert errors == []
    assert sorted(numbers) == [f"SO-2026-{i:04d}" for i in range(1, THREADS + 1)]
    with rt.db.transaction() as s:
        stored = s.scalars(select(Order).order_by(Order.number)).all()
        assert [o.number for o in stored] == sorted(numbers)
        # A retried insert keeps its lines and its timeline entry.
        assert all(len(o.lines) == 2 and o.amount == Decimal("39000.00") for o in stored)
        assert s.scalar(select(func.count(Activity.id))) == THREADS
