"""Change-request flows for the tests (issue 15): the shape the demo company configures."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session

from orderdesk.models import ApprovalFlow, ApprovalStep


def change_flows(session: Session) -> None:
    """Zero-amount changes: the PM's manager; others: the sales manager, + finance >= 50k."""
    zero = ApprovalFlow(
        code="chg0",
        name="变更审批(工期)",
        max_amount=Decimal("0.01"),
        conditions={"kind": "change"},
        steps=[ApprovalStep(sequence=1, name="项目经理上级", approver_kind="pm_manager")],
    )
    money_flow = ApprovalFlow(
        code="chg",
        name="变更审批",
        min_amount=Decimal("0.01"),
        conditions={"kind": "change"},
        steps=[
            ApprovalStep(sequence=1, name="销售经理", approver_kind="owner_manager"),
            ApprovalStep(
                sequence=2,
                name="财务",
                approver_kind="role",
                approver_value="finance",
                min_amount=Decimal("50000"),
            ),
        ],
    )
    session.add_all([zero, money_flow])
