"""Flow selection, submission, any/all steps, rejection, duplicates and withdrawal."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orderdesk.approvals import service as approvals
from orderdesk.approvals.flows import select_flow
from orderdesk.core import clock
from orderdesk.core.errors import (
    AlreadyDecided,
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from orderdesk.directory.staff import get_active_staff as staff_by
from orderdesk.models import (
    ApprovalAction,
    ApprovalAssignment,
    ApprovalFlow,
    ApprovalRequest,
    ApprovalStep,
    Customer,
    Department,
    Order,
    OrderType,
    OutboxMessage,
    Project,
    Staff,
)
from orderdesk.runtime import Runtime
from tests.approvals_world import build, make_order

# 02:32 UTC is 10:32 in Asia/Shanghai: the message must speak company time.
T0 = datetime(2026, 3, 2, 2, 32, tzinfo=UTC)


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


THRESHOLDS = [
    ("10000.00", ["销售经理"]),
    ("49999.99", ["销售经理"]),
    ("50000.00", ["销售经理", "财务"]),
    ("499999.99", ["销售经理", "财务"]),
    ("500000.00", ["销售经理", "财务", "总经理"]),
]


def test_amount_thresholds_pick_the_steps(rt: Runtime) -> None:
    with rt.db.transaction() as s:
        w = build(s)
        for i, (amount, steps) in enumerate(THRESHOLDS):
            make_order(s, w, amount=amount, number=f"SO-2026-010{i}")
            req = approvals.submit(s, actor=w["sales1"], number=f"SO-2026-010{i}")
            assert [step["name"] for step in req.steps_snapshot] == steps, amount
            assert [step["sequence"] for step in req.steps_snapshot] == list(
                range(1, len(steps) + 1)
            )
            assert req.order.status == "pending_approval"


def _flows(s: Session, line_id: int) -> None:
    def flow(code: str, priority: int = 0, **kw: object) -> None:
        step = ApprovalStep(sequence=1, name=code, approver_kind="role", approver_value="gm")
        s.add(ApprovalFlow(code=code, name=code, priority=priority, steps=[step], **kw))

    flow("line", business_line_id=line_id)
    flow("small-line", business_line_id=line_id, max_amount=Decimal("50000"))
    flow("maint", conditions={"order_types": ["maint"]})
    flow("newcust", priority=5, conditions={"new_customer": True})
    flow("discount", priority=10, conditions={"discount_above": "0.15"})
    s.flush()


RULES = [
    # amount, discount, new customer, order type, expected flow
    ("10000", "0", False, "impl", "small-line"),  # most specific of the line's flows
    ("80000", "0", False, "impl", "line"),  # above small-line's band
    ("80000", "0.10", False, "impl", "line"),  # discount below the limit: no flag
    ("80000", "0.15", False, "impl", "line"),  # at the limit is not above it
    ("80000", "0.20", False, "impl", "discount"),  # big discount outranks by priority
    ("80000", "0", True, "impl", "newcust"),
    ("80000", "0.20", True, "impl", "discount"),  # both flags: the higher priority
    ("80000", "0", False, "maint", "maint"),  # order type condition
    ("80000", "0", False, "other", "std"),  # nothing specific: the catch-all
]


def test_rule_selection_table(rt: Runtime) -> None:
    with rt.db.transaction() as s:
        w = build(s)
        _flows(s, w.line.id)
        types = {
            "impl": w.otype,
            "maint": OrderType(code="maint", name="运维"),
            "other": OrderType(code="other", name="其他"),
        }
        for i, (amount, discount, new_customer, otype, expected) in enumerate(RULES):
            customer = Customer(name=f"客户{i}", is_new=new_customer)
            order = make_order(
                s,
                w,
                number=f"SO-2026-020{i}",
                amount=amount,
                discount=discount,
                otype=types[otype],
                customer=customer,
                contract=False,
            )
            assert select_flow(s, order).code == expected, RULES[i]


def test_order_type_can_name_its_flow(rt: Runtime) -> None:
    with rt.db.transaction() as s:
        w = build(s)
        special = ApprovalFlow(
            code="special",
            name="特批",
            steps=[
                ApprovalStep(sequence=1, name="总经理", approver_kind="role", approver_value="gm")
            ],
        )
        w.otype.approval_flow = special
        order = make_order(s, w)
        assert select_flow(s, order).code == "special"


def test_submit_queues_cards_for_step_one(rt: Runtime) -> None:
    with rt.db.transaction() as s:
        w = build(s, managers=2)
        make_order(s, w, amount="60000.00")
        req = approvals.submit(s, actor=w["sales1"], number="so-2026-0001")
        rid = req.id
    with rt.db.transaction() as s:
        assignments = s.scalars(select(ApprovalAssignment).order_by(ApprovalAssignment.id)).all()
        assert [a.approver.userid for a in assignments] == ["mgr1", "mgr2"]
        for a in assignments:
            assert a.card_task_id == f"appr-{a.id}"
            msg = s.scalar(
                select(OutboxMessage).where(
                    OutboxMessage.idempotency_key == f"approval-card:{a.id}"
                )
            )
            assert msg is not None and msg.channel == "app_message"
            assert msg.recipient == a.approver.userid
            card = msg.payload["template_card"]
            assert card["card_type"] == "button_interaction"
            assert card["task_id"] == f"appr-{a.id}"
            keys = [b["key"] for b in card["button_list"]]
            assert keys == [f"approve:{rid}", f"reject:{rid}"]
            assert [b["text"] for b in card["button_list"]] == ["同意", "驳回"]
            assert card["jump_list"][0]["url"].endswith(f"/m/approvals/{rid}")
            assert "星海科技" in str(card["horizontal_content_list"])


def test_submit_refuses_strangers_and_missing_approvers(rt: Runtime) -> None:
    with rt.db.transaction() as s:
        w = build(s)
        make_order(s, w)
        sales2 = w["sales2"]
        with pytest.raises(NotFound):  # another salesperson's order does not exist for them
            approvals.submit(s, actor=sales2, number="SO-2026-0001")
        w.flow.steps.append(
            ApprovalStep(sequence=4, name="法务", approver_kind="users", approver_value="ghost")
        )
        s.flush()
        with pytest.raises(ValidationFailed, match="法务"):
            approvals.submit(s, actor=w["sales1"], number="SO-2026-0001")
    with rt.db.transaction() as s:
        assert s.scalar(select(Order.status)) == "draft"
        assert _count(s, ApprovalRequest) == 0


def test_any_mode_first_decision_wins(rt: Runtime) -> None:
    with rt.db.transaction() as s:
        w = build(s, managers=2)
        make_order(s, w)
        approvals.submit(s, actor=w["sales1"], number="SO-2026-0001")
    with rt.db.transaction() as s:
        # delivery stored the response code of mgr2's card
        a2 = s.scalar(
            select(ApprovalAssignment)
            .join(Staff, Staff.id == ApprovalAssignment.approver_id)
            .where(Staff.userid == "mgr2")
        )
        assert a2 is not None
        s.scalar(
            select(OutboxMessage).where(OutboxMessage.idempotency_key == f"approval-card:{a2.id}")
        ).response_code = "RC-mgr2"  # type: ignore[union-attr]
    with clock.frozen(T0), rt.db.transaction() as s:
        mgr1 = staff_by(s, "mgr1")
        result = approvals.decide(s, actor=mgr1, number="SO-2026-0001", decision="approve")
        assert result.request_finished and result.order_status == "approved"
        assert result.replace_name == "已同意 · 张经理 · 10:32"
    with rt.db.transaction() as s:
        mgr2 = staff_by(s, "mgr2")
        with pytest.raises(AlreadyDecided) as err:
            approvals.decide(s, actor=mgr2, number="SO-2026-0001", decision="approve")
        assert err.value.message == "已由 张经理 于 10:32 审批"
    with rt.db.transaction() as s:
        update = s.scalar(select(OutboxMessage).where(OutboxMessage.channel == "card_update"))
        assert update is not None and update.recipient == "mgr2"
        assert update.payload["response_code"] == "RC-mgr2"
        assert update.payload["button"]["replace_name"] == "已同意 · 张经理 · 10:32"
        statuses = sorted(a.status for a in s.scalars(select(ApprovalAssignment)))
        assert statuses == ["approved", "superseded"]
        assert _count(s, ApprovalAction) == 1
        assert _count(s, Project) == 1


def test_all_mode_needs_everyone(rt: Runtime) -> None:
    with rt.db.transaction() as s:
        w = build(s, managers=2)
        w.flow.steps[0].mode = "all"
        make_order(s, w)
        approvals.submit(s, actor=w["sales1"], number="SO-2026-0001")
    with rt.db.transaction() as s:
        mgr1 = staff_by(s, "mgr1")
        first = approvals.decide(s, actor=mgr1, number="SO-2026-0001", decision="同意")
        assert not first.step_finished and first.order_status == "pending_approval"
    with rt.db.transaction() as s:
        mgr1 = staff_by(s, "mgr1")
        with pytest.raises(AlreadyDecided, match="已由 张经理 于"):
            approvals.decide(s, actor=mgr1, number="SO-2026-0001", decision="approve")
    with rt.db.transaction() as s:
        mgr2 = staff_by(s, "mgr2")
        second = approvals.decide(s, actor=mgr2, number="SO-2026-0001", decision="approve")
        assert second.request_finished and second.order_status == "approved"


def test_steps_advance_in_sequence(rt: Runtime) -> None:
    with rt.db.transaction() as s:
        w = build(s)
        make_order(s, w, amount="600000.00")
        approvals.submit(s, actor=w["sales1"], number="SO-2026-0001")
    for userid, step_after in (("mgr1", 2), ("fin1", 3)):
        with rt.db.transaction() as s:
            actor = staff_by(s, userid)
            res = approvals.decide(s, actor=actor, number="SO-2026-0001", decision="approve")
            assert res.step_finished and not res.request_finished
            assert res.request.current_step == step_after
            order = s.scalar(select(Order))
            assert order is not None
            label = approvals.current_step_label(s, order)
            assert label is not None and label.startswith(f"第{step_after}/3步")
    with rt.db.transaction() as s:
        # the gm cannot be skipped by someone who already decided an earlier step
        fin1 = staff_by(s, "fin1")
        with pytest.raises(AlreadyDecided):
            approvals.decide(s, actor=fin1, number="SO-2026-0001", decision="approve")
    with rt.db.transaction() as s:
        boss = staff_by(s, "boss")
        res = approvals.decide(s, actor=boss, number="SO-2026-0001", decision="approve")
        assert res.request_finished and res.order_status == "approved"


def test_rejection_needs_a_reason_and_returns_to_draft(rt: Runtime) -> None:
    with rt.db.transaction() as s:
        w = build(s)
        make_order(s, w)
        approvals.submit(s, actor=w["sales1"], number="SO-2026-0001")
    with rt.db.transaction() as s:
        mgr1 = staff_by(s, "mgr1")
        with pytest.raises(ValidationFailed, match="驳回需要填写原因"):
            approvals.decide(s, actor=mgr1, number="SO-2026-0001", decision="reject", comment=" ")
    with rt.db.transaction() as s:
        assert _count(s, ApprovalAction) == 0
        mgr1 = staff_by(s, "mgr1")
        res = approvals.decide(
            s, actor=mgr1, number="SO-2026-0001", decision="驳回", comment="价格太低"
        )
        assert res.request_finished and res.request.status == "rejected"
    with rt.db.transaction() as s:
        order = s.scalar(select(Order))
        assert order is not None
        assert order.status == "draft" and order.status_reason == "价格太低"
        assert _count(s, Project) == 0
        # resubmitting starts a fresh request
        sales1 = staff_by(s, "sales1")
        again = approvals.submit(s, actor=sales1, number="SO-2026-0001")
        assert again.status == "pending" and _count(s, ApprovalRequest) == 2


def test_duplicate_decision_changes_nothing(rt: Runtime) -> None:
    with rt.db.transaction() as s:
        w = build(s, managers=2)
        w.flow.steps[0].mode = "all"
        make_order(s, w)
        req = approvals.submit(s, actor=w["sales1"], number="SO-2026-0001")
        rid = req.id
    with clock.frozen(T0), rt.db.transaction() as s:
        mgr1 = staff_by(s, "mgr1")
        approvals.decide(s, actor=mgr1, request_id=rid, decision="approve")
    with rt.db.transaction() as s:
        before = s.scalar(select(ApprovalRequest.version))
        mgr1 = staff_by(s, "mgr1")
        for decision in ("approve", "reject"):
            with pytest.raises(AlreadyDecided) as err:
                approvals.decide(s, actor=mgr1, request_id=rid, decision=decision, comment="x")
            assert err.value.message == "已由 张经理 于 10:32 审批"
    with rt.db.transaction() as s:
        assert _count(s, ApprovalAction) == 1
        assert s.scalar(select(ApprovalRequest.version)) == before
        assert s.scalar(select(ApprovalRequest.status)) == "pending"


def test_outsider_cannot_decide(rt: Runtime) -> None:
    with rt.db.transaction() as s:
        w = build(s)
        make_order(s, w)
        approvals.submit(s, actor=w["sales1"], number="SO-2026-0001")
    with rt.db.transaction() as s:
        sales2 = staff_by(s, "sales2")
        with pytest.raises(NotFound):  # not their order: it does not exist for them
            approvals.decide(s, actor=sales2, number="SO-2026-0001", decision="approve")
        with pytest.raises(PermissionDenied):  # the owner sees it but is no approver
            approvals.decide(s, actor=staff_by(s, "sales1"), number="SO-2026-0001", decision="同意")
        with pytest.raises(ValidationFailed):
            approvals.decide(s, actor=sales2, number="SO-2026-0001", decision="maybe")


def test_withdraw_by_submitter(rt: Runtime) -> None:
    with rt.db.transaction() as s:
        w = build(s)
        make_order(s, w)
        approvals.submit(s, actor=w["sales1"], number="SO-2026-0001")
    with rt.db.transaction() as s:
        mgr1 = staff_by(s, "mgr1")
        with pytest.raises(PermissionDenied):
            approvals.withdraw(s, actor=mgr1, number="SO-2026-0001")
    with clock.frozen(T0), rt.db.transaction() as s:
        sales1 = staff_by(s, "sales1")
        req = approvals.withdraw(s, actor=sales1, number="SO-2026-0001", reason="改价格")
        assert req.status == "withdrawn"
    with rt.db.transaction() as s:
        order = s.scalar(select(Order))
        assert order is not None and order.status == "draft"
        assert s.scalar(select(ApprovalAssignment.status)) == "cancelled"
        update = s.scalar(select(OutboxMessage).where(OutboxMessage.channel == "card_update"))
        assert update is not None and update.recipient == "mgr1"
        assert update.payload["button"]["replace_name"] == "已撤回 · 王销售 · 10:32"
        # delivered card: its response_code; card still queued: delivery resolves it later
        assignment_id = s.scalar(select(ApprovalAssignment.id))
        assert update.payload.get("response_code") or (
            update.payload.get("response_code_from") == f"approval-card:{assignment_id}"
        )
        mgr1 = staff_by(s, "mgr1")
        with pytest.raises(AlreadyDecided, match="已由 王销售 于 10:32 撤回"):
            approvals.decide(s, actor=mgr1, number="SO-2026-0001", decision="approve")
        sales1 = staff_by(s, "sales1")
        with pytest.raises(Exception, match="没有进行中的审批"):
            approvals.withdraw(s, actor=sales1, number="SO-2026-0001")


def test_cancelled_order_closes_its_approval(rt: Runtime) -> None:
    from orderdesk.jobs.approvals import remind_and_escalate
    from orderdesk.orders import service as orders

    with rt.db.transaction() as s:
        w = build(s)
        make_order(s, w)
        approvals.submit(s, actor=w["sales1"], number="SO-2026-0001")
    with rt.db.transaction() as s:
        orders.transition(
            s, actor=staff_by(s, "sales1"), number="SO-2026-0001", to="cancelled", reason="客户放弃"
        )
    with rt.db.transaction() as s:
        mgr1 = staff_by(s, "mgr1")
        assert approvals.pending_for(s, actor=mgr1) == []
        with pytest.raises(Conflict, match="已失效"):
            approvals.decide(s, actor=mgr1, number="SO-2026-0001", decision="approve")
    assert remind_and_escalate()["closed"] == 1
    with rt.db.transaction() as s:
        assert s.scalar(select(ApprovalRequest.status)) == "withdrawn"
        assert s.scalar(select(ApprovalAssignment.status)) == "cancelled"
        assert _count(s, ApprovalAction) == 0


def test_nobody_approves_their_own_order(rt: Runtime) -> None:
    with rt.db.transaction() as s:
        w = build(s, managers=2)
        make_order(s, w, owner="mgr1")
        req = approvals.submit(s, actor=w["mgr1"], number="SO-2026-0001")
        assert req.steps_snapshot[0]["approver_ids"] == [w["mgr2"].id]
        w["mgr2"].active = False
        make_order(s, w, owner="mgr1", number="SO-2026-0002")
        with pytest.raises(ValidationFailed, match="销售经理"):
            approvals.submit(s, actor=w["mgr1"], number="SO-2026-0002")


def test_approver_kinds_resolve_from_the_org_chart(rt: Runtime) -> None:
    from orderdesk.approvals.flows import resolve_approvers

    with rt.db.transaction() as s:
        w = build(s, managers=2)
        top = Department(name="总部", head_userid="boss")
        w.sales_dept.parent = top
        order = make_order(s, w)
        by_mgr1 = make_order(s, w, owner="mgr1", number="SO-2026-0002")

        def ids(kind: str, value: str = "", o: Order = order) -> list[str]:
            step = ApprovalStep(sequence=1, name="x", approver_kind=kind, approver_value=value)
            return [p.userid for p in resolve_approvers(s, step, o)]

        assert ids("department_head") == ["mgr1"]
        assert ids("department_head", o=by_mgr1) == ["boss"]  # own head: one level up
        assert ids("owner_manager") == ["mgr1"]
        assert ids("owner_manager", o=by_mgr1) == ["boss"]
        assert ids("users", "fin1, pm1|ghost") == ["fin1", "pm1"]
        assert ids("role", "manager") == ["mgr1", "mgr2"]
        assert ids("role", "manager", o=by_mgr1) == ["mgr2"]
        assert ids("role", "finance") == ["fin1"]  # other department: everyone with the role
