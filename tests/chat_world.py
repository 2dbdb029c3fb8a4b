"""Arranging data and building events for the chat-command tests (test helper, not a test)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy.orm import Session

from models import ChatBinding, Customer, Department, Order, OrderType, Staff
from wecom.events import CardEvent, EnterEvent, TextMessage

_ids = itertools.count(1)


def text(user: str, content: str, *, group: str | None = None) -> TextMessage:
    n = next(_ids)
    return TextMessage(
        channel="bot" if group else "app",
        user_id=user,
        create_time=1_790_000_000 + n,
        content=content,
        msg_id=f"m{n}",
        chat_id=group,
        chat_type="group" if group else "single",
    )


def click(user: str, key: str, *, task_id: str = "appr-1", **extra: object) -> CardEvent:
    n = next(_ids)
    return CardEvent(
        channel="app",
        user_id=user,
        create_time=1_790_000_000 + n,
        event_key=key,
        task_id=task_id,
        card_type="button_interaction",
        **extra,  # type: ignore[arg-type]
    )


def enter(user: str) -> EnterEvent:
    return EnterEvent(channel="app", user_id=user, create_time=1_790_000_000 + next(_ids))


@dataclass
class World:
    staff: dict[str, Staff] = field(default_factory=dict)
    customers: dict[str, Customer] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    order_type: OrderType | None = None


def add_staff(
    s: Session, userid: str, name: str, *roles: str, dept: Department | None = None
) -> Staff:
    person = Staff(userid=userid, name=name, department=dept)
    for role in roles:
        person.add_role(role)
    s.add(person)
    return person


def build_world(s: Session) -> World:
    """Two sales people in one department with a manager, finance, a PM, a gm, a delivery
    engineer, an inactive user; two customers; three orders."""
    w = World()
    dept = Department(name="华东销售部", head_userid="wangjl")
    s.add(dept)
    w.staff["wangjl"] = add_staff(s, "wangjl", "王经理", "manager", dept=dept)
    w.staff["zhangsan"] = add_staff(s, "zhangsan", "张三", "sales", dept=dept)
    w.staff["lisi"] = add_staff(s, "lisi", "李四", "sales", dept=dept)
    w.staff["zhaoliu"] = add_staff(s, "zhaoliu", "赵六", "finance")
    w.staff["sunqi"] = add_staff(s, "sunqi", "孙七", "pm")
    w.staff["zhoub"] = add_staff(s, "zhoub", "周八", "delivery")
    w.staff["boss"] = add_staff(s, "boss", "钱总", "gm")
    gone = add_staff(s, "gone", "离职者", "sales")
    gone.active = False
    s.flush()
    for p in (w.staff["zhangsan"], w.staff["lisi"]):
        p.manager_id = w.staff["wangjl"].id
    w.order_type = OrderType(code="impl", name="实施服务")
    s.add(w.order_type)
    w.customers["yunqi"] = Customer(name="上海云启科技有限公司", short_name="云启")
    w.customers["hengtai"] = Customer(name="杭州恒泰贸易有限公司", short_name="恒泰")
    s.add_all(w.customers.values())
    s.flush()
    specs = [
        ("SO-2026-0001", "yunqi", "zhangsan", "120000.00", "in_progress", "ERP 实施"),
        ("SO-2026-0002", "hengtai", "lisi", "56000.00", "pending_approval", "数据迁移"),
        ("SO-2026-0003", "yunqi", "zhangsan", "8000.00", "draft", "培训"),
    ]
    for number, cust, owner, amount, status, title in specs:
        order = Order(
            number=number,
            title=title,
            order_type_id=w.order_type.id,
            customer_id=w.customers[cust].id,
            owner_id=w.staff[owner].id,
            amount=Decimal(amount),
            status=status,
        )
        s.add(order)
        w.orders[number] = order
    s.flush()
    return w


def bind(s: Session, chat_id: str, customer: Customer, audience: str) -> ChatBinding:
    row = ChatBinding(kind="bot_group", chat_id=chat_id, customer_id=customer.id, audience=audience)
    s.add(row)
    return row
