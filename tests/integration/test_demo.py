"""`orderdesk demo`: a consistent, deterministic demo company."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orderdesk.approvals.decisions import decide
from orderdesk.config.fields import validate_schema, validate_values
from orderdesk.core import clock
from orderdesk.core.errors import Conflict
from orderdesk.demo.company import is_empty, load_demo
from orderdesk.models import (
    Activity,
    ApprovalAssignment,
    ApprovalRequest,
    ApprovalStep,
    BusinessLine,
    ChatBinding,
    Customer,
    Department,
    Installment,
    Order,
    OrderType,
    PaymentPlan,
    Project,
    Receipt,
    Staff,
    TimeEntry,
)
from orderdesk.models.order import ORDER_STATUSES
from orderdesk.models.staff import ROLES
from orderdesk.money.plans import compute_amounts, parse_terms
from orderdesk.runtime import Runtime

# A fixed "now" so two loads in one test can never straddle midnight.
NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
APPROVED = ("approved", "in_progress", "delivered", "accepted", "closed")


@pytest.fixture
def frozen_now() -> Iterator[None]:
    with clock.frozen(NOW):
        yield


def _load(rt: Runtime, seed: int, *, force: bool = False) -> None:
    with rt.db.transaction() as s:
        load_demo(s, seed=seed, tz=rt.settings.tz, force=force)


def _count(s: Session, model: Any) -> int:
    return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_demo_company_is_complete_consistent_and_deterministic(
    rt: Runtime, frozen_now: None
) -> None:
    _load(rt, seed=1)
    snapshot = _snapshot(rt)
    assert snapshot[0][0] == "SO-2026-0001" and len(snapshot) == 121
    # --force wipes and reloads; the same seed gives the same data.
    _load(rt, seed=1, force=True)
    assert _snapshot(rt) == snapshot
    today = clock.today(rt.settings.tz)
    with rt.db.transaction() as s:
        assert sorted(b.name for b in s.scalars(select(BusinessLine))) == sorted(
            ["IT 实施", "管理咨询", "品牌设计"]
        )
        staff = {p.userid: p for p in s.scalars(select(Staff))}
        assert len(staff) >= 12
        assert set().union(*(p.roles for p in staff.values())) == set(ROLES)
        assert staff["zhangsan"].has_role("sales") and staff["wangfang"].has_role("finance")
        assert staff["liuyang"].has_role("manager") and staff["admin"].has_role("admin")
        assert staff["zhangsan"].manager is staff["liuyang"]
        for dept in s.scalars(select(Department)):
            assert dept.head_userid in staff
        assert all(p.department is not None for p in staff.values())

        customers = list(s.scalars(select(Customer)))
        assert len(customers) == 30 and all(c.contacts for c in customers)
        schemas = {}
        for otype in s.scalars(select(OrderType)):
            assert otype.field_schema and otype.approval_flow and otype.project_template
            assert validate_schema(otype.field_schema) == {}
            schemas[otype.id] = otype.field_schema

        orders = list(s.scalars(select(Order).order_by(Order.number)))
        assert len(orders) == 120
        assert set(Counter(o.status for o in orders)) == set(ORDER_STATUSES)
        first = orders[0]
        assert first.number == "SO-2026-0001" and first.owner.userid == "zhangsan"
        assert first.status == "in_progress"
        bands = Counter(
            "small" if o.amount < 50000 else "mid" if o.amount <= 500000 else "large"
            for o in orders
        )
        assert min(bands.values()) > 0

        for order in orders:
            assert order.lines and order.amount == order.lines_total()
            fields = order.custom_fields
            assert validate_values(schemas[order.order_type_id], fields) == fields
            requests = order.approval_requests
            if order.status == "draft":
                assert not requests
            elif order.status == "pending_approval":
                (req,) = requests
                assert req.status == "pending"
                pending = [a for a in req.assignments if a.status == "pending"]
                assert pending and {a.step_sequence for a in pending} == {req.current_step}
            elif order.status in APPROVED:
                (req,) = requests
                assert req.status == "approved"
                assert len(req.actions) == len(req.steps_snapshot)
                needs_gm = order.amount > 500000
                steps = [s.get(ApprovalStep, st["step_id"]) for st in req.steps_snapshot]
                assert any(st is not None and st.approver_value == "gm" for st in steps) == needs_gm
            assert (order.project is not None) == (order.status in APPROVED)
            assert any(a.kind == "created" for a in order.activities)

        plans = list(s.scalars(select(PaymentPlan)))
        assert plans
        for plan in plans:
            contract = plan.contract
            amounts = [i.amount for i in plan.installments]
            assert 2 <= len(amounts) <= 4
            assert plan.order is not None
            assert sum(amounts) == contract.amount == plan.total == plan.order.amount
            # The money service, given the same terms, computes the same installments.
            assert compute_amounts(contract.amount, parse_terms(contract.payment_terms)) == amounts

        overdue_days = []
        for inst in s.scalars(select(Installment)):
            allocated = sum((a.amount for a in inst.allocations), Decimal("0.00"))
            assert inst.paid_amount == allocated <= inst.amount
            expected = (
                "paid"
                if inst.paid_amount == inst.amount
                else "partially_paid"
                if inst.paid_amount > 0
                else "due"
                if inst.due_date
                else "planned"
            )
            assert inst.status == expected
            if inst.due_date and inst.due_date < today and inst.outstanding > 0:
                overdue_days.append((today - inst.due_date).days)
        assert len(overdue_days) >= 5
        assert min(overdue_days) >= 1 and max(overdue_days) <= 60
        assert any(i.status == "partially_paid" for i in s.scalars(select(Installment)))
        for receipt in s.scalars(select(Receipt)):
            assert receipt.amount == sum(a.amount for a in receipt.allocations)
            assert receipt.received_on <= today
        # The README example: one installment paid, one 12 days overdue, one still to come.
        example = [i for i in first.payment_plan.installments] if first.payment_plan else []
        assert [i.status for i in example] == ["paid", "due", "due"]
        assert example[1].due_date == today - timedelta(days=12)

        for entry in s.scalars(select(TimeEntry)):
            assert Decimal(0) < entry.hours <= 24 and entry.work_date <= today
        for project in s.scalars(select(Project)):
            assert project.tasks and project.milestones
            assert project.code == "PRJ-" + project.order.number[3:]
        latest = s.scalar(select(func.max(Activity.created_at)))
        assert latest is not None and latest <= NOW

        bindings = list(s.scalars(select(ChatBinding)))
        kinds = Counter((b.kind, b.audience) for b in bindings)
        assert kinds[("customer_group", "client")] == 1
        assert kinds[("webhook", "internal")] == 1
        assert kinds[("appchat", "internal")] >= 1
        assert all(b.project_id for b in bindings if b.kind in ("appchat", "bot_group"))


def _snapshot(rt: Runtime) -> list[tuple[Any, ...]]:
    with rt.db.transaction() as s:
        rows: list[tuple[Any, ...]] = []
        for order in s.scalars(select(Order).order_by(Order.number)):
            plan = order.payment_plan
            rows.append(
                (
                    order.number,
                    order.status,
                    order.amount,
                    order.customer.name,
                    order.owner.userid,
                    order.title,
                    tuple(
                        (i.amount, i.due_date, i.paid_amount, i.status)
                        for i in (plan.installments if plan else [])
                    ),
                    order.project.pm.userid if order.project and order.project.pm else None,
                )
            )
        rows.append(tuple(_count(s, m) for m in (TimeEntry, Activity, Receipt, ApprovalRequest)))
        return rows


def test_refuses_a_non_empty_database_and_changes_nothing(rt: Runtime) -> None:
    with rt.db.transaction() as s:
        s.add(Staff(userid="boss", name="老板"))
    with pytest.raises(Conflict, match="--force"), rt.db.transaction() as s:
        assert not is_empty(s)
        load_demo(s, seed=1, tz=rt.settings.tz)
    with rt.db.transaction() as s:
        assert [p.userid for p in s.scalars(select(Staff))] == ["boss"]
        assert _count(s, Order) == 0 and _count(s, BusinessLine) == 0


def test_every_pending_demo_request_can_be_approved_to_the_end(
    rt: Runtime, frozen_now: None
) -> None:
    # Before, the demo wrote its own snapshot ("approvers": userids) and deciding a demo request
    # that reached a later step was a 500 (KeyError: 'approver_ids').
    _load(rt, seed=1)
    with rt.db.transaction() as s:
        pending = list(
            s.scalars(select(ApprovalRequest.id).where(ApprovalRequest.status == "pending"))
        )
    assert len(pending) >= 10
    for request_id in pending:
        for _ in range(10):  # at most one decision per step
            with rt.db.transaction() as s:
                request = s.get(ApprovalRequest, request_id)
                assert request is not None
                if request.status != "pending":
                    break
                assignment = s.scalar(
                    select(ApprovalAssignment)
                    .where(
                        ApprovalAssignment.request_id == request_id,
                        ApprovalAssignment.step_sequence == request.current_step,
                        ApprovalAssignment.status == "pending",
                    )
                    .order_by(ApprovalAssignment.id)
                )
                assert assignment is not None, request.order.number
                decide(s, actor=assignment.approver, request_id=request_id, decision="approve")
    with rt.db.transaction() as s:
        for request_id in pending:
            request = s.get(ApprovalRequest, request_id)
            assert request is not None
            assert request.status == "approved" and request.order.status == "approved"
            assert request.order.project is not None
