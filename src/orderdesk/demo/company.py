"""`orderdesk demo`: a believable Chinese B2B service company, deterministic from a seed.

Rows are written directly through the models (so the result depends only on the seed and on
"today" in the company time zone), while keeping every invariant the services enforce:
installments sum exactly to the contract, statuses agree with approvals, projects and money.
The order lifecycle lives in `demo.orders`; the fixed name lists in `demo.data`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from orderdesk import models
from orderdesk.core import clock
from orderdesk.core.errors import Conflict
from orderdesk.demo import data
from orderdesk.demo.changes import add_change_flows
from orderdesk.demo.orders import build_orders
from orderdesk.models import (
    ApprovalFlow,
    ApprovalStep,
    BusinessLine,
    ChatBinding,
    Contact,
    Customer,
    Department,
    Opportunity,
    Order,
    OrderType,
    Project,
    ProjectTemplate,
    ServiceItem,
    Staff,
    TicketQueue,
)
from orderdesk.money import ar_balances


@dataclass
class DemoWorld:
    """What the organisation/catalogue phase built, handed to the order phase."""

    rng: random.Random
    session: Session
    tz: ZoneInfo
    today: date
    lines: dict[str, BusinessLine] = field(default_factory=dict)
    departments: dict[str, Department] = field(default_factory=dict)
    staff: dict[str, Staff] = field(default_factory=dict)
    items: dict[str, ServiceItem] = field(default_factory=dict)
    templates: dict[str, ProjectTemplate] = field(default_factory=dict)
    flows: dict[str, ApprovalFlow] = field(default_factory=dict)
    order_types: dict[str, OrderType] = field(default_factory=dict)
    customers: list[Customer] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)

    def next_number(self, prefix: str) -> str:
        """Sequential document numbers such as RC-2026-0001, one sequence per prefix."""
        self.counters[prefix] = self.counters.get(prefix, 0) + 1
        return f"{prefix}-{data.DEMO_YEAR}-{self.counters[prefix]:04d}"

    def at(self, day: date, hour: int = 10, minute: int = 0) -> datetime:
        """A moment on `day` in company time, as an aware datetime (stored as UTC)."""
        return datetime.combine(day, time(hour, minute), tzinfo=self.tz)

    def days_ago(self, n: int) -> date:
        return self.today - timedelta(days=n)


@dataclass
class DemoSummary:
    seed: int
    counts: dict[str, int]

    def lines(self) -> list[str]:
        return [f"{name}: {count}" for name, count in self.counts.items()]


def is_empty(session: Session) -> bool:
    """True when nobody has put business data in yet (no staff, customers or orders)."""
    return not any(
        session.scalar(select(func.count()).select_from(model))
        for model in (Staff, Customer, Order)
    )


def wipe(session: Session) -> None:
    """Delete every row of every OrderDesk table (the schema and migration state stay)."""
    tables = list(reversed(models.Base.metadata.sorted_tables))
    if session.get_bind().dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        return
    # SQLite: staff <-> departments reference each other, so relax foreign keys for the wipe.
    session.execute(text("PRAGMA defer_foreign_keys=ON"))
    for table in tables:
        session.execute(table.delete())


def load_demo(session: Session, *, seed: int = 1, tz: ZoneInfo, force: bool = False) -> DemoSummary:
    """Fill an empty database with the demo company. `force` wipes whatever is there first."""
    if not is_empty(session):
        if not force:
            raise Conflict("数据库不是空的;要清空并重新加载演示数据请加 --force")
        wipe(session)
    world = DemoWorld(rng=random.Random(seed), session=session, tz=tz, today=clock.today(tz))
    _organisation(world)
    _ticket_queues(world)  # issue 15: after-sales tickets
    _catalogue(world)
    add_change_flows(session)  # issue 15: change requests
    _customers(world)
    session.flush()
    build_orders(world)
    session.flush()
    # The AR balances for today, as the nightly job keeps them (the whole-company aging reads
    # them from the start; without, it would read the installments until 00:07).
    ar_balances.rebuild(session, world.today)
    return DemoSummary(seed=seed, counts=_counts(session))


def _organisation(w: DemoWorld) -> None:
    for code, name in data.BUSINESS_LINES:
        w.lines[code] = BusinessLine(code=code, name=name)
    for key, name, parent, head, wecom_id in data.DEPARTMENTS:
        dept = Department(name=name, wecom_id=wecom_id, head_userid=head)
        dept.parent = w.departments[parent] if parent else None
        w.departments[key] = dept
    for userid, name, dept_key, _manager, roles, rate in data.STAFF:
        person = Staff(
            userid=userid,
            name=name,
            department=w.departments[dept_key],
            hourly_cost_rate=Decimal(rate),
            email=f"{userid}@yunfan-demo.cn",
            active=True,
        )
        for role in roles:
            person.add_role(role)
        w.staff[userid] = person
    for userid, _name, _dept, manager, _roles, _rate in data.STAFF:
        w.staff[userid].manager = w.staff[manager] if manager else None
    w.session.add_all([*w.lines.values(), *w.departments.values(), *w.staff.values()])
    w.session.flush()  # ids for the catalogue's business-line columns


def _ticket_queues(w: DemoWorld) -> None:
    """Each business line's after-sales queue is the delivery centre; its head takes the last
    escalation (SLAs keep the built-in defaults: P1 around the clock)."""
    for code, line in w.lines.items():
        w.session.add(
            TicketQueue(
                code=code,
                name=f"{line.name}售后",
                business_line=line,
                department=w.departments["delivery"],
                head_userid="huangwei",
            )
        )


def _catalogue(w: DemoWorld) -> None:
    for code, name, unit, price, cost, billing, line in data.SERVICE_ITEMS:
        w.items[code] = ServiceItem(
            code=code,
            name=name,
            unit=unit,
            unit_price=Decimal(price),
            cost_estimate=Decimal(cost),
            billing_method=billing,
            business_line_id=w.lines[line].id,
        )
        w.session.add(w.items[code])
    for tcode, tname, tasks, milestones in data.PROJECT_TEMPLATES:
        w.templates[tcode] = ProjectTemplate(
            code=tcode, name=tname, tasks=tasks, milestones=milestones
        )
    for code, bl in w.lines.items():
        flow = ApprovalFlow(
            code=f"FLOW_{code}",
            name=f"{bl.name}订单审批",
            business_line_id=bl.id,
            conditions={},
            priority=0,
        )
        flow.steps = [
            ApprovalStep(
                sequence=1, name="销售经理审批", approver_kind="owner_manager", mode="any"
            ),
            ApprovalStep(
                sequence=2,
                name="财务审批",
                approver_kind="role",
                approver_value="finance",
                mode="any",
                min_amount=data.FINANCE_FROM,
            ),
            ApprovalStep(
                sequence=3,
                name="总经理审批",
                approver_kind="role",
                approver_value="gm",
                mode="any",
                # "> 500k": the step's min_amount is inclusive, so one cent above.
                min_amount=data.GM_ABOVE + Decimal("0.01"),
            ),
        ]
        w.flows[code] = flow
    for code, name, line_code, billing, schema, tpl in data.ORDER_TYPES:
        w.order_types[code] = OrderType(
            code=code,
            name=name,
            field_schema=schema,
            default_billing_method=billing,
            business_line=w.lines[line_code],
            approval_flow=w.flows[line_code],
            project_template=w.templates[tpl],
        )
    w.session.add_all([*w.templates.values(), *w.flows.values(), *w.order_types.values()])


def _customers(w: DemoWorld) -> None:
    rng = w.rng
    sales = [w.staff[u] for u in data.SALES_USERIDS]
    for i, (name, short, industry) in enumerate(data.CUSTOMERS):
        owner = sales[i % len(sales)]
        tags = ["重点客户"] if i % 5 == 0 else []
        if i % 7 == 3:
            tags.append("政企")
        customer = Customer(
            name=name,
            short_name=short,
            industry=industry,
            owner=owner,
            tags=tags,
            is_new=True,
            created_at=w.at(w.days_ago(400 - i * 3)),
        )
        for c in range(rng.randint(1, 3)):
            person = rng.choice(data.SURNAMES) + "".join(rng.sample(data.GIVEN_NAMES, 2 - c % 2))
            customer.contacts.append(
                Contact(
                    name=person,
                    title=rng.choice(data.CONTACT_TITLES),
                    phone=f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}",
                    email=f"contact{i + 1:02d}{c + 1}@example.cn",
                )
            )
        w.customers.append(customer)
    w.session.add_all(w.customers)
    # Open and lost opportunities that have not become orders (the won ones come with orders).
    stages = ["lead", "qualified", "proposal", "negotiation", "lost"]
    for n in range(25):
        customer = w.customers[(n * 7) % len(w.customers)]
        line_code = data.BUSINESS_LINES[n % 3][0]
        stage = stages[n % len(stages)]
        w.session.add(
            Opportunity(
                customer=customer,
                business_line=w.lines[line_code],
                title=f"{customer.short_name}{w.lines[line_code].name}需求",
                stage=stage,
                expected_amount=Decimal(rng.randint(20, 900) * 1000),
                expected_close_date=w.today + timedelta(days=rng.randint(10, 120)),
                owner=customer.owner,
                close_reason=rng.choice(data.LOST_REASONS) if stage == "lost" else None,
            )
        )


def add_bindings(w: DemoWorld, project_orders: list[tuple[Order, Project]]) -> None:
    """Internal project groups, one client-audience customer group and one group webhook."""
    admin = w.staff["admin"]
    # (order index, kind): the first project's group is reachable both ways (the app created
    # it and the bot was added), so `chat --group demoprj0001` works and pushes reach it.
    groups = [(0, "bot_group"), (0, "appchat"), (1, "bot_group"), (2, "appchat"), (3, "appchat")]
    for index, kind in groups:
        order, project = project_orders[index]
        w.session.add(
            ChatBinding(
                kind=kind,
                chat_id=f"demoprj{index + 1:04d}",
                name=f"{project.name} 项目群",
                order_id=order.id,
                project_id=project.id,
                customer_id=order.customer_id,
                audience="internal",
                bound_by_id=order.owner_id,
                created_at=w.at(project.start_date or w.today),
            )
        )
    first = project_orders[0][0]
    w.session.add(
        ChatBinding(
            kind="customer_group",
            chat_id="wrdemoCustomerGroup0001",
            name=f"{first.customer.short_name} 服务群",
            customer_id=first.customer_id,
            order_id=first.id,
            audience="client",
            bound_by_id=first.owner_id,
            created_at=w.at(w.days_ago(30)),
        )
    )
    w.session.add(
        ChatBinding(
            kind="webhook",
            chat_id="demo-webhook-key-0001",
            name="销售部群机器人",
            audience="internal",
            bound_by_id=admin.id,
            created_at=w.at(w.days_ago(60)),
        )
    )


def _counts(session: Session) -> dict[str, int]:
    shown = (
        models.Staff,
        models.Department,
        models.BusinessLine,
        models.Customer,
        models.Contact,
        models.Opportunity,
        models.OrderType,
        models.ServiceItem,
        models.ApprovalFlow,
        models.Order,
        models.OrderLine,
        models.Contract,
        models.ApprovalRequest,
        models.Project,
        models.Task,
        models.Milestone,
        models.TimeEntry,
        models.PaymentPlan,
        models.Installment,
        models.Invoice,
        models.Receipt,
        models.Activity,
        models.ChatBinding,
    )
    return {
        m.__tablename__: int(session.scalar(select(func.count()).select_from(m)) or 0)
        for m in shown
    }
