"""Client groups: only the bound customer's data, no internal figures, no changes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from orderdesk.bot.router import CLIENT_GROUP_REFUSAL
from orderdesk.directory.staff import get_active_staff
from orderdesk.models import ChatBinding, Order, OutboxMessage
from orderdesk.orders import bindings
from tests.chat_world import Co, company  # noqa: F401 - provides the `co` fixture

CLIENT = "grp-client"


@pytest.fixture
def client_group(co: Co) -> Co:
    bound = co.chat.bot("sales1", "绑定 星海科技 客户群", chat=CLIENT)
    assert bound.text.startswith("本群已绑定 星海科技(客户群)")
    return co


def test_order_in_a_client_group_hides_internal_figures(client_group: Co) -> None:
    md = client_group.chat.bot("sales1", "查 SO-2026-0001", chat=CLIENT).text
    assert "**SO-2026-0001**" in md and "星海科技" in md
    assert "> 审批:" not in md and "销售经理" not in md  # the internal approval step
    # The same order in an internal group names the approval step.
    assert "第1/2步 销售经理" in client_group.chat.bot("sales1", "查 SO-2026-0001").text


def test_other_customers_never_appear(client_group: Co) -> None:
    # gm may see every order, but not in this customer's group: not even as a suggestion.
    other = client_group.chat.bot("boss", "查 SO-2026-0003", chat=CLIENT).text
    assert other == "没有找到「SO-2026-0003」相关的订单"
    by_name = client_group.chat.bot("boss", "查 月湖", chat=CLIENT).text
    assert "月湖" in by_name.split("\n")[0] and "SO-2026-0003" not in by_name
    assert "\n" not in by_name  # no suggestions at all
    listing = client_group.chat.bot("boss", "查 SO-2026", chat=CLIENT).text
    assert "SO-2026-0003" not in listing and "月湖" not in listing
    overdue = client_group.chat.bot("fin1", "逾期", chat=CLIENT).text
    assert "星海科技" in overdue and "月湖" not in overdue


def test_changes_and_internal_lists_are_refused(client_group: Co) -> None:
    refused = [
        "批准 SO-2026-0001",
        "驳回 SO-2026-0001 不行",
        "进度 SO-2026-0002 内部备注:成本超支",
        "工时 SO-2026-0002 2",
        "回款 SO-2026-0002 100",
        "绑定 SO-2026-0003",
        "我的",
        "待审批",
    ]
    not_a_reply = ~OutboxMessage.idempotency_key.like("reply:%")
    for typed in refused:
        before = client_group.count(OutboxMessage, not_a_reply)
        assert client_group.chat.bot("boss", typed, chat=CLIENT).text == CLIENT_GROUP_REFUSAL
        assert client_group.order("SO-2026-0001").status == "pending_approval"
        # Nothing was queued apart from (on a slow machine) the reply itself.
        assert client_group.count(OutboxMessage, not_a_reply) == before


def test_unbinding_a_client_group_is_allowed_for_staff(client_group: Co) -> None:
    assert client_group.chat.bot("sales1", "解绑", chat=CLIENT).text.startswith("本群已解除绑定")


def test_internal_progress_never_reaches_a_client_group(client_group: Co) -> None:
    with client_group.rt.db.transaction() as s:
        order = s.scalar(select(Order).where(Order.number == "SO-2026-0002"))
        assert order is not None and order.project is not None
        s.add_all(
            [
                ChatBinding(
                    kind="webhook",
                    chat_id="hook-client",
                    customer_id=order.customer_id,
                    audience="client",
                ),
                ChatBinding(
                    kind="appchat",
                    chat_id="prj-team",
                    project_id=order.project.id,
                    audience="internal",
                ),
            ]
        )
    said = client_group.chat.app("sales1", "进度 SO-2026-0002 成本超支,毛利下降")
    assert "1 个项目群" in said.text
    with client_group.rt.db.transaction() as s:
        pushed = s.scalars(
            select(OutboxMessage.recipient).where(
                OutboxMessage.idempotency_key.like("progress-push:%")
            )
        ).all()
    assert pushed == ["prj-team"]


def test_bind_rules(co: Co) -> None:
    with co.rt.db.transaction() as s:
        sales2 = get_active_staff(s, "sales2")
        with pytest.raises(Exception, match="没有找到客户"):
            bindings.bind_chat(s, actor=sales2, chat_id="g1", ref="星海科技")
    again = co.chat.bot("sales1", "绑定 SO-2026-0001", chat="g2")
    assert again.text.startswith("本群已绑定 SO-2026-0001")
    moved = co.chat.bot("sales1", "绑定 SO-2026-0002", chat="g2")
    assert moved.text.startswith("本群已绑定 SO-2026-0002")
    assert co.count(ChatBinding) == 1  # one row per group, re-pointed
    assert "匹配到多个" not in co.chat.bot("sales1", "绑定 星海", chat="g3").text
