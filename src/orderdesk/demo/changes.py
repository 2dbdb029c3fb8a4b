"""The demo company's change-request flows (issue 15), configured like any other flow.

A schedule-only change (|amount delta| = 0) needs only the PM's manager; any change in money
goes to the sales manager, plus finance from ¥50,000 and the general manager from ¥200,000
(thresholds on |delta|, not on the order amount)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session

from orderdesk.models import ApprovalFlow, ApprovalStep

CHANGE_FINANCE_FROM = Decimal("50000")
CHANGE_GM_FROM = Decimal("200000")


def add_change_flows(session: Session) -> list[ApprovalFlow]:
    schedule = ApprovalFlow(
        code="CHANGE_SCHEDULE",
        name="变更审批(仅工期/范围)",
        max_amount=Decimal("0.01"),
        conditions={"kind": "change"},
        steps=[
            ApprovalStep(sequence=1, name="项目经理上级审批", approver_kind="pm_manager"),
        ],
    )
    money = ApprovalFlow(
        code="CHANGE_AMOUNT",
        name="变更审批(金额)",
        min_amount=Decimal("0.01"),
        conditions={"kind": "change"},
        steps=[
            ApprovalStep(sequence=1, name="销售经理审批", approver_kind="owner_manager"),
            ApprovalStep(
                sequence=2,
                name="财务审批",
                approver_kind="role",
                approver_value="finance",
                min_amount=CHANGE_FINANCE_FROM,
            ),
            ApprovalStep(
                sequence=3,
                name="总经理审批",
                approver_kind="role",
                approver_value="gm",
                min_amount=CHANGE_GM_FROM,
            ),
        ],
    )
    session.add_all([schedule, money])
    return [schedule, money]
