"""GET /orders?q= cuts each candidate branch (text, customer, number) to one page before the
rows are read (orders.queries._top_ids): paging through the results gives exactly the orders
that match, newest first, in scope, whichever branch found them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from orderdesk.models import Customer, Order, Staff
from orderdesk.orders.queries import OrderFilters, list_orders
from orderdesk.runtime import Runtime
from tests.money_world import order_with_contract, staff

Q = "青禾"


def _world(session: Session) -> tuple[Staff, Staff, list[Order]]:
    a = staff(session, "sa", "sales")
    b = staff(session, "sb", "sales")
    fin = staff(session, "fin1", "finance")
    qinghe = Customer(name="杭州青禾数字科技", owner=a)
    short = Customer(name="宁波某某公司", short_name="青禾宁波", owner=b)
    session.add_all([qinghe, short])
    orders = []
    for i in range(12):
        owner = (a, b)[i % 2]
        kind = i % 4
        customer = {0: qinghe, 1: short}.get(kind)
        o = order_with_contract(
            session, owner=owner, number=f"SO-2026-{i + 1:04d}", customer=customer
        )
        if kind == 2:
            o.title = f"青禾园区部署 {i}"
        elif kind == 3 and i % 3 == 0:
            o.custom_fields = {"site": "青禾大厦"}  # found through the custom-field text
        orders.append(o)
    session.flush()
    return a, fin, orders


def _matches(o: Order) -> bool:
    values = [o.number, o.title, o.customer.name, o.customer.short_name or ""]
    values += [str(v) for v in (o.custom_fields or {}).values()]
    return any(Q in v for v in values)


def _pages(session: Session, actor: Staff, q: str, size: int) -> list[str]:
    seen: list[str] = []
    after: int | None = None
    while True:
        page = list_orders(
            session, actor=actor, filters=OrderFilters(q=q), after_id=after, limit=size
        )
        seen += [o.number for o in page]
        if len(page) < size:
            return seen
        after = page[-1].id


def test_pages_hold_every_match_newest_first_in_scope(rt: Runtime, session: Session) -> None:
    a, fin, orders = _world(session)
    session.commit()
    newest_first = sorted(orders, key=lambda o: o.id, reverse=True)
    expected_all = [o.number for o in newest_first if _matches(o)]
    assert len(expected_all) >= 8  # every branch contributes: customer, short name, title, field
    for size in (1, 2, 5, 50):
        assert _pages(session, fin, Q, size) == expected_all
        assert _pages(session, a, Q, size) == [
            o.number for o in newest_first if _matches(o) and o.owner_id == a.id
        ]
    # The number branch: an exact number finds its order, on any page size.
    assert _pages(session, fin, "so-2026-0007", 1) == ["SO-2026-0007"]


def test_filters_apply_inside_the_branches(rt: Runtime, session: Session) -> None:
    _, fin, orders = _world(session)
    orders[0].status = "closed"  # a customer-branch match that the status filter drops
    session.commit()
    found = list_orders(
        session, actor=fin, filters=OrderFilters(q=Q, status="in_progress"), limit=3
    )
    expected = [
        o.number
        for o in sorted(orders, key=lambda o: o.id, reverse=True)
        if _matches(o) and o.status == "in_progress"
    ][:3]
    assert [o.number for o in found] == expected
