"""A small company for the order tests (plain builders over real rows; not a test module).

Departments: 华东销售 (sales1, sales2, manager mgr1) and 华北销售 (sales3, manager mgr2);
finance `fin`, general manager `gm`, admin `admin`, PM `pm1`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from orderdesk.models import (
    BusinessLine,
    Customer,
    Department,
    Order,
    OrderType,
    ServiceItem,
    Staff,
)

IMPL_SCHEMA: list[dict[str, Any]] = [
    {"key": "site", "label": "实施地点", "type": "string", "required": True, "max": 20},
    {"key": "users", "label": "用户数", "type": "number", "min": 1, "max": 10000},
    {"key": "budget", "label": "客户预算", "type": "money", "min": "0", "max": "1000000"},
    {"key": "go_live", "label": "上线日期", "type": "date", "min": "2026-01-01"},
    {"key": "level", "label": "服务级别", "type": "enum", "options": ["标准", "高级"]},
    {"key": "tech_lead", "label": "技术负责人", "type": "user"},
    {"key": "notes", "label": "备注", "type": "text", "max": 500},
]


@dataclass
class World:
    sales1: Staff
    sales2: Staff
    sales3: Staff
    mgr1: Staff
    mgr2: Staff
    fin: Staff
    gm: Staff
    admin: Staff
    pm1: Staff
    east: Department
    north: Department
    customer: Customer
    customer2: Customer
    impl: OrderType
    consult: ServiceItem
    license: ServiceItem

    def by_name(self, name: str) -> Staff:
        person = getattr(self, name)
        assert isinstance(person, Staff)
        return person


def _staff(
    session: Session, userid: str, name: str, *roles: str, dept: Department | None = None
) -> Staff:
    person = Staff(userid=userid, name=name, department=dept)
    for role in roles:
        person.add_role(role)
    session.add(person)
    return person


def build_world(session: Session) -> World:
    """Create the company and commit it."""
    east = Department(name="华东销售", head_userid="mgr1")
    north = Department(name="华北销售", head_userid="mgr2")
    session.add_all([east, north])
    mgr1 = _staff(session, "mgr1", "王经理", "manager", dept=east)
    mgr2 = _staff(session, "mgr2", "赵经理", "manager", dept=north)
    sales1 = _staff(session, "sales1", "张三", "sales", dept=east)
    sales2 = _staff(session, "sales2", "李四", "sales", dept=east)
    sales3 = _staff(session, "sales3", "王五", "sales", dept=north)
    sales1.manager = mgr1
    sales2.manager = mgr1
    sales3.manager = mgr2
    fin = _staff(session, "fin", "钱财务", "finance")
    gm = _staff(session, "gm", "孙总", "gm")
    admin = _staff(session, "admin", "周管理", "admin")
    pm1 = _staff(session, "pm1", "吴项目", "pm")
    line = BusinessLine(code="impl", name="实施")
    session.add(line)
    impl = OrderType(code="impl", name="实施项目", business_line=line, field_schema=IMPL_SCHEMA)
    consult = ServiceItem(
        code="consult",
        name="咨询服务",
        unit="人天",
        unit_price=Decimal("2000.00"),
        billing_method="time_and_materials",
    )
    license_ = ServiceItem(
        code="license",
        name="软件许可",
        unit="套",
        unit_price=Decimal("10000.00"),
        billing_method="fixed",
    )
    customer = Customer(name="上海云启科技有限公司", short_name="云启", owner=sales1)
    customer2 = Customer(name="北京星河数据有限公司", short_name="星河", owner=sales3)
    session.add_all([impl, consult, license_, customer, customer2])
    session.commit()
    return World(
        sales1=sales1,
        sales2=sales2,
        sales3=sales3,
        mgr1=mgr1,
        mgr2=mgr2,
        fin=fin,
        gm=gm,
        admin=admin,
        pm1=pm1,
        east=east,
        north=north,
        customer=customer,
        customer2=customer2,
        impl=impl,
        consult=consult,
        license=license_,
    )


def order_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "order_type": "impl",
        "customer": "上海云启科技有限公司",
        "title": "ERP 实施一期",
        "lines": [
            {"service_item": "consult", "quantity": "10"},
            {"service_item": "license", "quantity": "2", "unit_price": "9500.00"},
        ],
        "custom_fields": {"site": "上海", "users": "200"},
    }
    data.update(overrides)
    return data


def make_order(session: Session, actor: Staff, **overrides: Any) -> Order:
    """Create an order through the service and commit it."""
    from orderdesk.orders import service as orders

    order = orders.create_order(session, actor=actor, data=order_data(**overrides))
    session.commit()
    return order


def force_status(session: Session, order: Order, status: str) -> None:
    """Arrange a state directly (tests of the state table start from every state)."""
    order.status = status
    session.commit()
