"""Demo orders through their whole life: lines, approvals, contracts, projects and timelines.

Every order gets a status first; everything else is derived from it so the rows agree the way
the services would have left them (e.g. a project exists only once an order is approved, a
pending request has pending assignments for the current step's approvers only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert

from orderdesk.approvals.flows import snapshot_steps
from orderdesk.config.fields import validate_values
from orderdesk.core import clock
from orderdesk.core.formatting import money
from orderdesk.demo import data
from orderdesk.demo.money import build_plan
from orderdesk.demo.projects import build_project
from orderdesk.models import (
    Activity,
    ApprovalAction,
    ApprovalAssignment,
    ApprovalRequest,
    Contract,
    Opportunity,
    Order,
    OrderLine,
    OrderType,
    Project,
    Staff,
)

if TYPE_CHECKING:
    from orderdesk.demo.company import DemoWorld

STATUS_PLAN = (
    ("draft", 14),
    ("pending_approval", 16),
    ("approved", 14),
    ("in_progress", 28),
    ("delivered", 14),
    ("accepted", 12),
    ("closed", 14),
    ("cancelled", 8),
)
# How long ago (days) an order in each status was created.
AGE = {
    "draft": (1, 20),
    "pending_approval": (1, 10),
    "approved": (5, 30),
    "in_progress": (40, 200),
    "delivered": (80, 250),
    "accepted": (120, 300),
    "closed": (180, 360),
    "cancelled": (10, 200),
}
APPROVED_STATUSES = ("approved", "in_progress", "delivered", "accepted", "closed")
TYPE_WEIGHTS = {"IT_IMPL": 4, "IT_OPS": 2, "CONSULT": 3, "BRAND": 3}
CENT = Decimal("0.01")


@dataclass
class Story:
    """The timeline of one order, collected while it is built and written once ids exist."""

    now: datetime
    project: Project | None = None
    entries: list[tuple[datetime, str, Staff | None, str, dict[str, Any], bool]] = field(
        default_factory=list
    )

    def add(
        self,
        at: datetime,
        kind: str,
        actor: Staff | None,
        body: str,
        data: dict[str, Any] | None = None,
        internal: bool = True,
    ) -> None:
        self.entries.append((min(at, self.now), kind, actor, body, data or {}, internal))


def build_orders(w: DemoWorld) -> None:
    from orderdesk.demo.company import add_bindings  # late: demo.company imports this module

    statuses = [status for status, n in STATUS_PLAN for _ in range(n)]
    w.rng.shuffle(statuses)
    # SO-2026-0001 is the README example: zhangsan's running order with money in every state.
    statuses.remove("in_progress")
    statuses.insert(0, "in_progress")
    built = [_build_order(w, seq, status) for seq, status in enumerate(statuses, start=1)]
    # One flush for everything (per-order flushes made the load several times slower); the
    # timelines and bindings need the ids it assigns.
    w.session.flush()
    activities = [row for order, story in built for row in _story_rows(order, story)]
    # Core bulk insert: a thousand timeline rows need no ORM bookkeeping.
    table = Activity.metadata.tables[Activity.__tablename__]
    w.session.connection().execute(insert(table), activities)
    with_projects = [(order, story.project) for order, story in built if story.project]
    add_bindings(w, with_projects)
    repeat = {o.customer_id for o, _p in with_projects if o.status in ("accepted", "closed")}
    for customer in w.customers:
        customer.is_new = customer.id not in repeat


def _build_order(w: DemoWorld, seq: int, status: str) -> tuple[Order, Story]:
    rng = w.rng
    story = Story(now=clock.now() - timedelta(minutes=1))
    codes = list(TYPE_WEIGHTS)
    otype = (
        w.order_types["IT_IMPL"]
        if seq == 1
        else w.order_types[rng.choices(codes, weights=[TYPE_WEIGHTS[c] for c in codes])[0]]
    )
    customer = w.customers[0] if seq == 1 else rng.choice(w.customers)
    owner = customer.owner
    assert owner is not None
    age = 100 if seq == 1 else rng.randint(*AGE[status])
    created = w.at(w.days_ago(age), 9, rng.randint(0, 59))
    lines = _lines(w, otype, big=seq == 1)
    amount = sum((line.amount for line in lines), Decimal("0.00"))
    order = Order(
        number=f"SO-{data.DEMO_YEAR}-{seq:04d}",
        title=f"{customer.short_name}{rng.choice(data.TITLE_SUFFIXES[otype.code])}",
        order_type=otype,
        customer=customer,
        owner=owner,
        business_line=otype.business_line,
        status=status,
        amount=amount,
        currency="CNY",
        custom_fields=_custom_fields(w, otype, customer.short_name or "", lines, created),
        lines=lines,
        created_at=created,
        updated_at=created,
    )
    w.session.add(order)
    story.add(created, "created", owner, f"创建订单 {order.number},金额 {money(amount)}")
    opportunity = Opportunity(
        customer=customer,
        business_line=otype.business_line,
        title=order.title,
        stage={"draft": "negotiation", "pending_approval": "negotiation", "cancelled": "lost"}.get(
            status, "won"
        ),
        expected_amount=amount,
        expected_close_date=created.date() + timedelta(days=7),
        owner=owner,
        close_reason="订单取消" if status == "cancelled" else None,
        created_at=created - timedelta(days=20),
    )
    w.session.add(opportunity)
    cursor = _approval(w, order, story, created, rejected=status == "cancelled" and seq % 2 == 0)
    if status == "cancelled":
        order.status_reason = order.status_reason or "客户取消采购计划"
        order.closed_at = min(cursor + timedelta(days=2), story.now)
        story.add(order.closed_at, "status", owner, "订单已取消:" + order.status_reason)
    if status in ("pending_approval", *APPROVED_STATUSES):
        contract = _contract(w, order, opportunity, cursor, readme_example=seq == 1)
        if status in APPROVED_STATUSES:
            project = story.project = build_project(w, order, story, contract)
            build_plan(w, order, contract, project, story, readme_example=seq == 1)
    order.updated_at = max(e[0] for e in story.entries)
    return order, story


def _lines(w: DemoWorld, otype: OrderType, *, big: bool) -> list[OrderLine]:
    rng = w.rng
    codes = data.TYPE_ITEMS[otype.code]
    band = rng.random()
    if big or 0.45 <= band < 0.88:
        target = Decimal(rng.randint(60, 480) * 1000)
    elif band < 0.45:
        target = Decimal(rng.randint(8, 48) * 1000)
    else:
        target = Decimal(rng.randint(520, 1500) * 1000)
    extra = int(rng.random() < 0.6) + int(rng.random() < 0.3)
    chosen = [codes[0], *rng.sample(codes[1:], min(extra, len(codes) - 1))]
    lines = []
    for pos, code in enumerate(chosen):
        item = w.items[code]
        share = target * (Decimal("0.6") if pos == 0 and len(chosen) > 1 else Decimal("0.2"))
        if len(chosen) == 1:
            share = target
        if item.unit == "月":
            qty = Decimal(rng.choice([6, 12, 24]))
        else:
            qty = Decimal(max(1, round(share / item.unit_price)))
        lines.append(
            OrderLine(
                position=pos + 1,
                service_item=item,
                description=item.name,
                quantity=qty,
                unit=item.unit,
                unit_price=item.unit_price,
                billing_method=item.billing_method,
                amount=(qty * item.unit_price).quantize(CENT, ROUND_HALF_UP),
            )
        )
    if rng.random() < 0.3:
        # Odd cents on purpose: installment rounding (half-up, remainder last) gets exercised.
        price = Decimal(rng.randint(50000, 500000)) / 100
        lines.append(
            OrderLine(
                position=len(lines) + 1,
                description="差旅及杂费",
                quantity=Decimal(1),
                unit="项",
                unit_price=price,
                billing_method="fixed",
                amount=price,
            )
        )
    return lines


def _custom_fields(
    w: DemoWorld, otype: OrderType, short: str, lines: list[OrderLine], created: datetime
) -> dict[str, Any]:
    rng = w.rng
    if otype.code == "IT_IMPL":
        go_live = (created.date() + timedelta(days=90)).isoformat()
        raw = {"site": rng.choice(data.SITES), "go_live": go_live, "users": rng.randint(50, 2000)}
    elif otype.code == "IT_OPS":
        raw = {"sla": rng.choice(["5x8", "7x24"]), "months": int(lines[0].quantity)}
    elif otype.code == "CONSULT":
        raw = {"scope": rng.choice(["战略", "组织", "流程", "数字化"]), "sponsor": f"{short}总经理"}
    else:
        raw = {"brand": short, "formats": rng.choice(data.FORMATS)}
    # Stored exactly as the orders service would store them (canonical strings, validated).
    return validate_values(otype.field_schema, raw)


def _approval(
    w: DemoWorld, order: Order, story: Story, created: datetime, *, rejected: bool
) -> datetime:
    """The approval request an order's status implies; returns when the last decision fell.

    The steps and approvers are the snapshot the approvals service itself takes at submission
    (`snapshot_steps`), so a demo request has exactly the shape the decision code reads."""
    if order.status == "draft" or (order.status == "cancelled" and not rejected):
        return created
    rng = w.rng
    flow = order.order_type.approval_flow
    assert flow is not None
    with w.session.no_autoflush:  # the order is still being built
        snapshot = snapshot_steps(w.session, flow, order)
    staff_by_id = {s.id: s for s in w.staff.values()}

    def approvers(step: dict[str, Any]) -> list[Staff]:
        return [staff_by_id[i] for i in step["approver_ids"]]

    submitted = created + timedelta(hours=rng.randint(1, 5))
    order.submitted_at = submitted
    story.add(submitted, "status", order.owner, "提交审批")
    request = ApprovalRequest(
        order=order,
        flow=flow,
        status="pending",
        steps_snapshot=snapshot,
        current_step=1,
        step_started_at=submitted,
        submitted_by=order.owner,
        created_at=submitted,
        updated_at=submitted,
    )
    w.session.add(request)
    if rejected:
        decide_count = 1
    elif order.status == "pending_approval":
        decide_count = rng.randint(0, len(snapshot) - 1)
    else:
        decide_count = len(snapshot)
    at = submitted
    for n, step in enumerate(snapshot[:decide_count]):
        at = at + timedelta(hours=rng.randint(1, 20))
        approver = rng.choice(approvers(step))
        reject = rejected and n == 0
        comment = rng.choice(data.REJECT_REASONS) if reject else "同意"
        request.assignments.append(
            ApprovalAssignment(
                step_sequence=step["sequence"],
                approver=approver,
                status="rejected" if reject else "approved",
                created_at=request.step_started_at,
                decided_at=at,
            )
        )
        request.actions.append(
            ApprovalAction(
                step_sequence=step["sequence"],
                actor=approver,
                decision="reject" if reject else "approve",
                comment=comment,
                created_at=at,
            )
        )
        verb = "驳回" if reject else "同意"
        story.add(at, "approval", approver, f"{step['name']}:{approver.name}{verb}({comment})")
        request.step_started_at = at
        if reject:
            request.status, request.decided_at = "rejected", at
            order.status_reason = f"审批被驳回:{comment}"
            return at
    if decide_count < len(snapshot):
        current = snapshot[decide_count]
        request.current_step = current["sequence"]
        for approver in approvers(current):
            request.assignments.append(
                ApprovalAssignment(
                    step_sequence=current["sequence"],
                    approver=approver,
                    status="pending",
                    created_at=request.step_started_at,
                )
            )
        return at
    request.status, request.decided_at = "approved", at
    request.current_step = snapshot[-1]["sequence"]
    story.add(at, "status", None, "审批通过,订单已批准")
    return at


def _contract(
    w: DemoWorld,
    order: Order,
    opportunity: Opportunity,
    approved: datetime,
    *,
    readme_example: bool = False,
) -> Contract:
    terms = w.rng.choice(data.PAYMENT_TERMS)
    if readme_example:  # three installments with odd cents (33.33% / 33.33% / 33.34%)
        terms = data.PAYMENT_TERMS[4]
    signed = order.status != "pending_approval"
    contract = Contract(
        number=f"HT-{order.number[3:]}",
        customer=order.customer,
        opportunity=opportunity,
        title=f"{order.title}合同",
        signed_date=(approved + timedelta(days=1)).date() if signed else None,
        amount=order.amount,
        currency="CNY",
        tax_rate=Decimal("0.06"),
        payment_terms=_terms(w, order, terms),
        status={"pending_approval": "draft", "approved": "signed", "closed": "completed"}.get(
            order.status, "active"
        ),
        created_at=order.created_at,
        updated_at=approved,
    )
    if contract.signed_date and contract.signed_date > w.today:
        contract.signed_date = w.today
    order.contract = contract
    w.session.add(contract)
    return contract


def _terms(w: DemoWorld, order: Order, pattern: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    """Terms in the shape money.plans accepts; on_date dates are provisional until
    the project schedule exists (build_plan rewrites them)."""
    template = order.order_type.project_template
    assert template is not None
    milestones = [str(m["name"]) for m in template.milestones]
    terms: list[dict[str, Any]] = []
    for k, (name, pct, trigger) in enumerate(pattern, start=1):
        term: dict[str, Any] = {"name": name, "percent": pct, "trigger": trigger}
        if trigger == "on_signing":
            term["days"] = 7
        elif trigger == "on_milestone":
            term["milestone"] = milestones[0] if "上线" in name else milestones[-1]
            term["days"] = 15
        else:
            term["date"] = (w.today + timedelta(days=30 * k)).isoformat()
        terms.append(term)
    return terms


def _story_rows(order: Order, story: Story) -> list[dict[str, Any]]:
    project_id = story.project.id if story.project else None
    return [
        {
            "kind": kind,
            "actor_id": actor.id if actor else None,
            "body": body,
            "data": extra,
            "internal": internal,
            "order_id": order.id,
            "customer_id": order.customer_id,
            "project_id": project_id,
            "created_at": at,
        }
        for at, kind, actor, body, extra, internal in sorted(story.entries, key=lambda e: e[0])
    ]
