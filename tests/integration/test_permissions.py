"""The permission matrix by role: which orders and which money each person sees."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.core.errors import NotFound, PermissionDenied
from orderdesk.directory.permissions import can_see_money, can_see_order, order_scope, require_role
from orderdesk.models import Order, Project, Staff
from orderdesk.orders import service as orders
from tests.order_world import World, build_world, make_order

# o1: sales1 (华东), o2: sales3 (华北, project managed by pm1), o3: mgr1 himself (华东).
VISIBLE = {
    "sales1": {"o1"},
    "sales2": set(),
    "sales3": {"o2"},
    "mgr1": {"o1", "o3"},
    "mgr2": {"o2"},
    "fin": {"o1", "o2", "o3"},
    "gm": {"o1", "o2", "o3"},
    "admin": {"o1", "o2", "o3"},
    "pm1": {"o2"},
}
MONEY = {
    "sales1": {"o1"},
    "sales2": set(),
    "sales3": {"o2"},
    "mgr1": {"o1", "o3"},
    "mgr2": {"o2"},
    "fin": {"o1", "o2", "o3"},
    "gm": {"o1", "o2", "o3"},
    "admin": {"o1", "o2", "o3"},
    "pm1": set(),  # sees the project's order, not its money
}


@pytest.fixture
def arranged(session: Session, rt: object) -> tuple[World, dict[str, Order]]:
    world = build_world(session)
    o1 = make_order(session, world.sales1)
    o2 = make_order(session, world.sales3, customer="北京星河数据有限公司")
    o3 = make_order(session, world.mgr1, title="经理自己的单")
    session.add(Project(code="P-2", name="星河实施", order=o2, pm=world.pm1))
    session.commit()
    return world, {"o1": o1, "o2": o2, "o3": o3}


def test_matrix(session: Session, arranged: tuple[World, dict[str, Order]]) -> None:
    world, named = arranged
    by_id = {o.id: name for name, o in named.items()}
    for person, expected in VISIBLE.items():
        actor = world.by_name(person)
        in_sql = {by_id[i] for i in session.scalars(select(Order.id).where(order_scope(actor)))}
        assert in_sql == expected, person
        in_python = {name for name, o in named.items() if can_see_order(actor, o)}
        assert in_python == expected, person
        listed = {by_id[o.id] for o in orders.list_orders(session, actor=actor)}
        assert listed == expected, person
        money = {name for name, o in named.items() if can_see_money(actor, o)}
        assert money == MONEY[person], person


def test_out_of_scope_is_the_same_as_a_wrong_number(
    session: Session, arranged: tuple[World, dict[str, Order]]
) -> None:
    world, named = arranged
    number = named["o2"].number
    with pytest.raises(NotFound) as hidden:
        orders.get_order(session, actor=world.sales1, number=number)
    with pytest.raises(NotFound) as missing:
        orders.get_order(session, actor=world.sales1, number="SO-2026-9999")
    assert hidden.value.message == f"找不到订单 {number}"
    assert missing.value.message == "找不到订单 SO-2026-9999"
    # Search, suggestions and counts leak nothing outside the scope either.
    assert orders.search_orders(session, actor=world.sales1, query="星河") == []
    assert all("星河" not in s for s in orders.suggest(session, actor=world.sales1, query="星河"))
    assert orders.order_counts(session, actor=world.sales1)["draft"] == 1
    assert orders.order_counts(session, actor=world.gm)["draft"] == 3


def test_inactive_staff_sees_nothing(
    session: Session, arranged: tuple[World, dict[str, Order]]
) -> None:
    world, named = arranged
    world.gm.active = False
    session.commit()
    assert orders.list_orders(session, actor=world.gm) == []
    assert not can_see_order(world.gm, named["o1"])
    assert not can_see_money(world.gm, named["o1"])
    with pytest.raises(PermissionDenied):
        require_role(world.gm, "gm")


def test_require_role_names_the_roles() -> None:
    fin, sales = Staff(userid="f", name="F", active=True), Staff(userid="s", name="S", active=True)
    fin.add_role("finance")
    sales.add_role("sales")
    require_role(fin, "finance", "gm")
    with pytest.raises(PermissionDenied) as err:
        require_role(sales, "finance", "gm")
    assert err.value.message == "此操作需要以下角色之一:财务、总经理"


def test_department_head_sees_money_of_department_orders(
    session: Session, arranged: tuple[World, dict[str, Order]]
) -> None:
    world, _ = arranged
    # sales2's direct manager is cleared; mgr1 still heads 华东销售 and so still sees the money.
    world.sales2.manager = None
    session.commit()
    order = make_order(session, world.mgr1, owner_userid="sales2")
    assert can_see_money(world.mgr1, order)
    assert not can_see_money(world.mgr2, order)
    assert can_see_order(world.mgr1, order) and not can_see_order(world.mgr2, order)
