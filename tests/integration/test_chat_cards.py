"""Approval cards: click -> decision through the service -> the clicked card and the other
approvers' cards show who decided; a repeated or late click never decides twice."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from orderdesk.approvals import service as approvals
from orderdesk.models import ApprovalAction, ApprovalAssignment, Order, OutboxMessage
from orderdesk.runtime import Runtime
from orderdesk.wecom import signing
from tests.approvals_world import build, make_order
from tests.chat_world import Chat
from tests.fakes.wecom_rules import check_passive


@dataclass
class TwoManagers:
    chat: Chat
    rt: Runtime
    request_id: int
    card_of: dict[str, str]  # approver userid -> their card's task_id


@pytest.fixture
def two(rt: Runtime, client: FlaskClient) -> Iterator[TwoManagers]:
    """SO-2026-0001 for 10,000: one step (销售经理, any of mgr1 / mgr2)."""
    rt.settings = rt.settings.with_overrides(handler_budget_seconds=4.5)
    with rt.db.transaction() as s:
        w = build(s, managers=2)
        make_order(s, w, amount="10000.00")
        request = approvals.submit(s, actor=w["sales1"], number="SO-2026-0001")
        s.flush()
        cards = {a.approver.userid: a.card_task_id or "" for a in request.assignments}
        rid = request.id
    assert set(cards) == {"mgr1", "mgr2"}
    yield TwoManagers(Chat(client, rt), rt, rid, cards)


def test_click_decides_and_every_card_of_the_step_shows_it(two: TwoManagers) -> None:
    clicked = two.chat.click("mgr1", f"approve:{two.request_id}", task_id=two.card_of["mgr1"])
    assert clicked.kind == "update_button"
    label = clicked.text
    assert re.fullmatch(r"已同意 · 张经理 · \d{2}:\d{2}", label)
    with two.rt.db.transaction() as s:
        order = s.scalar(select(Order).where(Order.number == "SO-2026-0001"))
        assert order is not None and order.status == "approved"
        updates = s.scalars(
            select(OutboxMessage).where(OutboxMessage.channel == "card_update")
        ).all()
        # The other approver's card is greyed out with the same words.
        assert [u.recipient for u in updates] == ["mgr2"]
        assert updates[0].payload["button"]["replace_name"] == label
        other = s.scalar(
            select(ApprovalAssignment).where(ApprovalAssignment.card_task_id == two.card_of["mgr2"])
        )
        assert other is not None and other.status != "pending"
    late = two.chat.click("mgr2", f"approve:{two.request_id}", task_id=two.card_of["mgr2"])
    assert late.kind == "update_button" and late.text.startswith("已由 张经理 于")
    with two.rt.db.transaction() as s:
        assert len(s.scalars(select(ApprovalAction)).all()) == 1


def test_the_same_click_delivered_twice_decides_once(two: TwoManagers) -> None:
    req = signing.app_click(
        two.chat.settings, "mgr1", two.card_of["mgr1"], f"approve:{two.request_id}"
    )
    first = two.chat.client.post(req.url, data=req.body, content_type=req.content_type)
    again = two.chat.client.post(req.url, data=req.body, content_type=req.content_type)
    assert first.status_code == again.status_code == 200
    plain_first = check_passive(two.chat.settings, req, first.get_data(as_text=True))
    plain_again = check_passive(two.chat.settings, req, again.get_data(as_text=True))
    assert plain_first is not None and "已同意 · 张经理" in plain_first
    assert plain_again == plain_first  # the retry gets the identical answer
    with two.rt.db.transaction() as s:
        assert len(s.scalars(select(ApprovalAction)).all()) == 1


def test_rejecting_from_the_card_keeps_the_order_until_a_reason_is_given(two: TwoManagers) -> None:
    asked = two.chat.click("mgr2", f"reject:{two.request_id}", task_id=two.card_of["mgr2"])
    assert asked.kind == "update_card" and "驳回原因" in asked.raw
    assert "其他原因请回复:驳回 SO-2026-0001 原因" in asked.raw
    # Meanwhile mgr1 approves: the reason card's submit now only reports the outcome.
    assert two.chat.click("mgr1", f"approve:{two.request_id}").text.startswith("已同意")
    late = two.chat.click("mgr2", f"rejectwhy:{two.request_id}", selected={"reason": ["scope"]})
    assert late.text.startswith("已由 张经理 于")
    with two.rt.db.transaction() as s:
        decisions = s.scalars(select(ApprovalAction.decision)).all()
        assert decisions == ["approve"]
