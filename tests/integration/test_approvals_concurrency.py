"""Exactly-once decisions under real concurrency: threads, each with its own session and
transaction, released together by a barrier against the same request."""

from __future__ import annotations

from collections import Counter
from functools import partial

import pytest
from sqlalchemy import func, select

from orderdesk.approvals import service as approvals
from orderdesk.core.errors import AlreadyDecided
from orderdesk.directory.staff import get_active_staff
from orderdesk.models import ApprovalAction, ApprovalAssignment, ApprovalRequest, Order, Project
from orderdesk.runtime import Runtime
from tests.approvals_world import build, make_order
from tests.threads import together


def _race(rt: Runtime, attempts: list[tuple[str, str]], request_id: int) -> Counter[str]:
    def attempt(userid: str, decision: str) -> str:
        try:
            with rt.db.transaction() as s:
                actor = get_active_staff(s, userid)
                approvals.decide(
                    s,
                    actor=actor,
                    request_id=request_id,
                    decision=decision,
                    comment="并发测试" if decision == "reject" else None,
                )
            return f"ok:{userid}:{decision}"
        except AlreadyDecided as exc:
            assert exc.message.startswith("已由 ") and exc.message.endswith(" 审批")
            return "already"

    results = together([partial(attempt, userid, decision) for userid, decision in attempts])
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors[:3]
    return Counter(results)


def _setup(rt: Runtime) -> int:
    with rt.db.transaction() as s:
        w = build(s, managers=3)
        make_order(s, w)
        return approvals.submit(s, actor=w["sales1"], number="SO-2026-0001").id


@pytest.mark.parametrize("rounds", [3])
def test_concurrent_approvers_one_outcome(rt: Runtime, rounds: int) -> None:
    rid = _setup(rt)
    # three approvers of an any-mode step, each clicking three times at the same moment
    attempts = [(f"mgr{i}", "approve") for i in (1, 2, 3) for _ in range(rounds)]
    outcomes = _race(rt, attempts, rid)
    winners = [k for k in outcomes if k.startswith("ok:")]
    assert len(winners) == 1 and outcomes[winners[0]] == 1
    assert outcomes["already"] == len(attempts) - 1
    with rt.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(ApprovalAction)) == 1
        assert s.scalar(select(ApprovalRequest.status)) == "approved"
        assert s.scalar(select(Order.status)) == "approved"
        assert s.scalar(select(func.count()).select_from(Project)) == 1
        statuses = Counter(s.scalars(select(ApprovalAssignment.status)))
        assert statuses == Counter({"approved": 1, "superseded": 2})


def test_concurrent_approve_and_reject_one_outcome(rt: Runtime) -> None:
    rid = _setup(rt)
    outcomes = _race(rt, [("mgr1", "approve"), ("mgr2", "reject"), ("mgr3", "reject")], rid)
    assert outcomes["already"] == 2
    with rt.db.transaction() as s:
        actions = s.scalars(select(ApprovalAction)).all()
        assert len(actions) == 1
        request_status = s.scalar(select(ApprovalRequest.status))
        order_status = s.scalar(select(Order.status))
        if actions[0].decision == "approve":
            assert (request_status, order_status) == ("approved", "approved")
        else:
            assert (request_status, order_status) == ("rejected", "draft")
