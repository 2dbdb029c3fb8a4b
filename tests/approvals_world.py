"""A small company for the approval/automation/project tests (plain builders, real rows)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from orderdesk.models import (
    ApprovalFlow,
    ApprovalStep,
    BusinessLine,
    Contract,
    Customer,
    Department,
    Order,
    OrderType,
    ProjectTemplate,
    Staff,
)


@dataclass
class World:
    line: BusinessLine
    sales_dept: Department
    otype: OrderType
    customer: Customer
    flow: ApprovalFlow
    people: dict[str, Staff] = field(default_factory=dict)

    def __getitem__(self, userid: str) -> Staff:
        return self.people[userid]


def person(
    session: Session,
    userid: str,
    name: str,
    *roles: str,
    dept: Department | None = None,
    manager: Staff | None = None,
) -> Staff:
    s = Staff(userid=userid, name=name, department=dept, manager=manager)
    for role in roles:
        s.add_role(role)
    session.add(s)
    session.flush()
    return s


def std_steps() -> list[ApprovalStep]:
    """< 50k: 销售经理; 50k-500k: + 财务; >= 500k: + 总经理."""
    return [
        ApprovalStep(sequence=1, name="销售经理", approver_kind="role", approver_value="manager"),
        ApprovalStep(
            sequence=2,
            name="财务",
            approver_kind="role",
            approver_value="finance",
            min_amount=Decimal("50000"),
        ),
        ApprovalStep(
            sequence=3,
            name="总经理",
            approver_kind="role",
            approver_value="gm",
            min_amount=Decimal("500000"),
        ),
    ]


def build(session: Session, *, managers: int = 1) -> World:
    line = BusinessLine(code="it", name="IT 服务")
    sales = Department(name="销售一部", head_userid="mgr1")
    fin = Department(name="财务部")
    ops = Department(name="交付部")
    session.add_all([line, sales, fin, ops])
    session.flush()
    boss = person(session, "boss", "老板", "gm", dept=None)
    mgr1 = person(session, "mgr1", "张经理", "manager", dept=sales, manager=boss)
    people = {"boss": boss, "mgr1": mgr1}
    for i in range(2, managers + 1):
        people[f"mgr{i}"] = person(
            session, f"mgr{i}", f"经理{i}", "manager", dept=sales, manager=boss
        )
    people["sales1"] = person(session, "sales1", "王销售", "sales", dept=sales, manager=mgr1)
    people["sales2"] = person(session, "sales2", "赵销售", "sales", dept=sales, manager=mgr1)
    people["fin1"] = person(session, "fin1", "钱财务", "finance", dept=fin, manager=boss)
    people["pm1"] = person(session, "pm1", "孙项目", "pm", dept=ops, manager=boss)
    people["dev1"] = person(session, "dev1", "周交付", "delivery", dept=ops, manager=people["pm1"])
    template = ProjectTemplate(
        code="impl",
        name="实施模板",
        tasks=[
            {"title": "需求调研", "offset_days": 7, "owner_role": "pm"},
            {"title": "部署上线", "offset_days": 20, "owner_role": "delivery"},
            {"title": "客户培训", "offset_days": 30, "owner_role": "sales"},
        ],
        milestones=[{"name": "上线", "offset_days": 21}, {"name": "验收", "offset_days": 45}],
    )
    otype = OrderType(code="impl", name="实施服务", business_line=line, project_template=template)
    customer = Customer(name="星海科技", owner=people["sales1"], is_new=False)
    flow = ApprovalFlow(code="std", name="标准审批", steps=std_steps())
    session.add_all([template, otype, customer, flow])
    session.flush()
    return World(line, sales, otype, customer, flow, people)


def make_order(
    session: Session,
    world: World,
    *,
    number: str = "SO-2026-0001",
    amount: str = "10000.00",
    owner: str = "sales1",
    discount: str = "0",
    contract: bool = True,
    otype: OrderType | None = None,
    customer: Customer | None = None,
    custom: dict[str, Any] | None = None,
) -> Order:
    customer = customer or world.customer
    agreement = None
    if contract:
        agreement = Contract(
            number=f"HT-{number}",
            customer=customer,
            amount=Decimal(amount),
            signed_date=date(2026, 3, 1),
            payment_terms=[
                {"name": "首付款", "percent": "30", "trigger": "on_signing", "days": 7},
                {
                    "name": "验收款",
                    "percent": "70",
                    "trigger": "on_milestone",
                    "milestone": "验收",
                    "days": 15,
                },
            ],
        )
    order = Order(
        number=number,
        title=f"{customer.name} 实施项目",
        order_type=otype or world.otype,
        customer=customer,
        contract=agreement,
        owner=world[owner],
        business_line=(otype or world.otype).business_line,
        amount=Decimal(amount),
        discount_rate=Decimal(discount),
        custom_fields=custom or {},
        status="draft",
    )
    session.add(order)
    session.flush()
    return order
