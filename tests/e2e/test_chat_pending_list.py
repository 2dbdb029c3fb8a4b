"""`待审批` answers with ONE list card (newest first, a button per item) instead of a card each;
a button opens that approval's own card. Signed callbacks through the Flask app."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from orderdesk.approvals import service as approvals
from orderdesk.models import ApprovalAssignment, Customer, Order, OrderType, OutboxMessage, Staff
from tests.approvals_world import make_order
from tests.chat_world import Co, company  # noqa: F401 - provides the `co` fixture


def _submit_more(co: Co, *numbers: str) -> None:
    """Two more orders of 星海科技 waiting for 张经理 (mgr1), submitted after SO-2026-0001."""
    with co.rt.db.transaction() as s:
        people = {p.userid: p for p in s.scalars(select(Staff))}
        first = s.scalar(select(Order).where(Order.number == "SO-2026-0001"))
        assert first is not None
        world: Any = _Staffed(
            s.get(Customer, first.customer_id), s.get(OrderType, first.order_type_id), people
        )
        for number in numbers:
            make_order(s, world, number=number, amount="20000.00", contract=False)
            approvals.submit(s, actor=people["sales1"], number=number)


class _Staffed:
    """make_order's world: a customer, an order type and people by userid."""

    def __init__(self, customer: Any, otype: Any, people: dict[str, Staff]) -> None:
        self.customer, self.otype, self.people = customer, otype, people

    def __getitem__(self, userid: str) -> Staff:
        return self.people[userid]


def _cards_sent(co: Co) -> list[dict[str, Any]]:
    with co.rt.db.transaction() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.channel == "app_message"))
        return [r.payload["template_card"] for r in rows if "template_card" in r.payload]


def test_pending_is_one_list_card_newest_first_with_a_button_each(co: Co) -> None:
    _submit_more(co, "SO-2026-0004", "SO-2026-0005")
    before = len(_cards_sent(co))
    answer = co.chat.app("mgr1", "待审批")
    card = answer.card
    assert card is not None and card["card_type"] == "button_interaction"
    assert card["main_title"]["title"] == "待审批 3 条"
    texts = [b["text"] for b in card["button_list"]]
    assert texts == ["SO-2026-0005", "SO-2026-0004", "SO-2026-0001"]
    assert all(b["key"].startswith("openappr:") for b in card["button_list"])
    body = card["sub_title_text"]
    assert body.index("SO-2026-0005") < body.index("SO-2026-0001")
    # Only the list card was sent: not one card per pending approval.
    assert len(_cards_sent(co)) - before <= 1


def test_a_list_button_opens_that_approvals_card_for_the_approver_only(co: Co) -> None:
    _submit_more(co, "SO-2026-0004")
    card = co.chat.app("mgr1", "待审批").card
    assert card is not None
    key = card["button_list"][0]["key"]
    assert co.chat.click("sales2", key, task_id=card["task_id"]).text.startswith("这条审批已处理")
    opened = co.chat.click("mgr1", key, task_id=card["task_id"])
    assert opened.text == "已发送 SO-2026-0004 的审批卡片"
    sent = _cards_sent(co)[-1]
    assignment_id = int(key.removeprefix("openappr:"))
    with co.rt.db.transaction() as s:
        assignment = s.get(ApprovalAssignment, assignment_id)
        assert assignment is not None
        rid = assignment.request_id
    assert [b["key"] for b in sent["button_list"]] == [f"approve:{rid}", f"reject:{rid}"]
    assert co.chat.click("mgr1", f"approve:{rid}", task_id=sent["task_id"]).kind != "none"
    again = co.chat.click("mgr1", key, task_id=card["task_id"]).text
    assert again.startswith("这条审批已处理或不存在")


def test_in_a_group_the_list_is_text_newest_first(co: Co) -> None:
    _submit_more(co, "SO-2026-0004")
    text = co.chat.bot("mgr1", "待审批").text
    assert text.index("SO-2026-0004") < text.index("SO-2026-0001") and "单聊" in text
