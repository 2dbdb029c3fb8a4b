"""A small company for the mini-app API tests (real rows via the real services; not a test
module).

东区 (head mgr1): sales1, sales2 (both report to mgr1). 北区 (head mgr2): sales3.
fin (finance), gm, admin, pm1 (pm), dev1 (delivery).
Orders: o1 (sales1, 云启, with contract + payment plan + project run by pm1, task owned by dev1),
o2 (sales2, 云启), o3 (sales3, 星河).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from orderdesk.models import (
    ApprovalFlow,
    ApprovalStep,
    Contact,
    Contract,
    Customer,
    Department,
    Order,
    OrderType,
    Project,
    ProjectTemplate,
    ServiceItem,
    Staff,
)
from orderdesk.money.plans import generate_plan
from orderdesk.orders import service as orders
from orderdesk.projects.service import create_from_order

ROLES_BY_USER = {
    "sales1": ("sales",),
    "sales2": ("sales",),
    "sales3": ("sales",),
    "mgr1": ("manager",),
    "mgr2": ("manager",),
    "fin": ("finance",),
    "gm": ("gm",),
    "admin": ("admin",),
    "pm1": ("pm",),
    "dev1": ("delivery",),
}


@dataclass
class World:
    people: dict[str, Staff]
    c1: Customer
    c2: Customer
    o1: Order
    o2: Order
    o3: Order
    project: Project
    extra: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, userid: str) -> Staff:
        return self.people[userid]


def order_data(customer: str, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "order_type": "impl",
        "customer": customer,
        "title": "ERP 实施",
        "lines": [{"service_item": "consult", "quantity": "5"}],
    }
    data.update(overrides)
    return data


def build(session: Session) -> World:
    east = Department(name="东区", head_userid="mgr1")
    north = Department(name="北区", head_userid="mgr2")
    session.add_all([east, north])
    people: dict[str, Staff] = {}
    for userid, roles in ROLES_BY_USER.items():
        dept = (
            north
            if userid in ("sales3", "mgr2")
            else east
            if userid.startswith(("sales", "mgr"))
            else None
        )
        person = Staff(userid=userid, name=f"{userid}名", department=dept)
        for role in roles:
            person.add_role(role)
        session.add(person)
        people[userid] = person
    people["sales1"].manager = people["mgr1"]
    people["sales2"].manager = people["mgr1"]
    people["sales3"].manager = people["mgr2"]
    template = ProjectTemplate(
        code="impl",
        name="实施模板",
        tasks=[{"title": "需求调研", "offset_days": 7, "owner_role": "delivery"}],
        milestones=[{"name": "验收", "offset_days": 30}],
    )
    flow = ApprovalFlow(code="std", name="标准审批")
    flow.steps.append(ApprovalStep(sequence=1, name="部门经理", approver_kind="department_head"))
    impl = OrderType(code="impl", name="实施项目", project_template=template, approval_flow=flow)
    consult = ServiceItem(
        code="consult", name="咨询服务", unit="人天", unit_price=Decimal("2000.00")
    )
    c1 = Customer(name="上海云启科技有限公司", short_name="云启", owner=people["sales1"])
    c2 = Customer(name="北京星河数据有限公司", short_name="星河", owner=people["sales3"])
    c1.contacts.append(Contact(name="陈总", title="CIO", phone="13800000000"))
    session.add_all([template, flow, impl, consult, c1, c2])
    session.flush()

    o1 = orders.create_order(session, actor=people["sales1"], data=order_data(c1.name))
    # sales2's order for sales1's customer: their manager arranges it (c1 is not sales2's)
    o2 = orders.create_order(
        session,
        actor=people["mgr1"],
        data=order_data(c1.name, title="运维服务", owner_userid="sales2"),
    )
    o3 = orders.create_order(session, actor=people["sales3"], data=order_data(c2.name))
    contract = Contract(
        number="HT-2026-001",
        customer=c1,
        title="ERP 实施合同",
        signed_date=date(2026, 1, 5),
        amount=Decimal("10000.00"),
        payment_terms=[
            {"name": "首付款", "percent": "30", "trigger": "on_signing", "days": 0},
            {"name": "尾款", "percent": "70", "trigger": "on_signing", "days": 30},
        ],
    )
    session.add(contract)
    o1.contract = contract
    session.flush()
    generate_plan(session, contract=contract, order=o1)
    o1.status = "in_progress"
    project = create_from_order(session, o1)
    project.pm = people["pm1"]
    for task in project.tasks:
        task.owner = people["dev1"]
    session.commit()
    return World(people=people, c1=c1, c2=c2, o1=o1, o2=o2, o3=o3, project=project)
