"""工单 through signed WeCom callbacks: create 1:1 and in the order's bound group (number left
out), list my open tickets, move one on; refused out of scope and in client groups."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from orderdesk.models import Activity, ChatBinding, Order, Ticket
from orderdesk.runtime import Runtime
from tests.chat_world import Chat, bind, build_world


@pytest.fixture
def chat(rt: Runtime, client: FlaskClient) -> Chat:
    with rt.db.transaction() as s:
        w = build_world(s)
        order = w.orders["SO-2026-0001"]
        s.add(
            ChatBinding(kind="bot_group", chat_id="grp-so1", order_id=order.id, audience="internal")
        )
        bind(s, "clientgrp", w.customers["yunqi"], "client")
    return Chat(client, rt)


def _tickets(rt: Runtime) -> list[tuple[str, str, str, str | None]]:
    with rt.db.transaction() as s:
        rows = s.scalars(select(Ticket).order_by(Ticket.id)).all()
        return [
            (t.number, t.title, t.priority, t.assignee.userid if t.assignee else None) for t in rows
        ]


def test_create_in_one_to_one_and_in_the_bound_group(rt: Runtime, chat: Chat) -> None:
    answer = chat.app("zhangsan", "工单 SO-2026-0001 登录页报错 P1")
    assert "已创建工单 TK-" in answer.text and "[P1] 登录页报错" in answer.text, answer.text
    # in the group bound to the order the number is left out; English alias and priority first
    answer = chat.bot("zhangsan", "ticket P2 报表打不开", chat="grp-so1")
    assert "[P2] 报表打不开" in answer.text, answer.text
    made = _tickets(rt)
    assert [(t[1], t[2], t[3]) for t in made] == [
        ("登录页报错", "P1", "zhangsan"),  # no queue, no project: the order's owner
        ("报表打不开", "P2", "zhangsan"),
    ]
    assert made[0][0].endswith("-00001") and made[1][0].endswith("-00002")
    with rt.db.transaction() as s:
        order = s.scalar(select(Order).where(Order.number == "SO-2026-0001"))
        assert order is not None
        lines = s.scalars(
            select(Activity.body).where(Activity.order_id == order.id, Activity.kind == "ticket")
        ).all()
        assert any("登录页报错" in line for line in lines)

    listed = chat.app("zhangsan", "工单")
    assert "未完成工单(2 张)" in listed.text and made[0][0] in listed.text

    moved = chat.app("zhangsan", f"工单 {made[0][0]} 已解决")
    assert "已更新为「已解决」" in moved.text, moved.text
    again = chat.app("zhangsan", f"工单 {made[0][0]} 待客户")
    assert "不能改为" in again.text, again.text
    assert "未完成工单(1 张)" in chat.app("zhangsan", "工单").text


def test_refusals_change_nothing(rt: Runtime, chat: Chat) -> None:
    # lisi is another salesperson: zhangsan's order does not exist for her
    outside = chat.app("lisi", "工单 SO-2026-0001 登录页报错")
    missing = chat.app("lisi", "工单 SO-2099-0001 登录页报错")
    assert "找不到订单" in outside.text and outside.text.replace("2026", "2099") == missing.text
    assert "请写上问题描述" in chat.app("zhangsan", "工单 SO-2026-0001").text
    assert "请写上订单号" in chat.app("zhangsan", "工单 登录页报错").text
    client_group = chat.bot("zhangsan", "工单 SO-2026-0001 登录页报错", chat="clientgrp")
    assert "客户群" in client_group.text
    assert _tickets(rt) == []
    assert "没有未完成的工单" in chat.app("zhangsan", "工单").text
