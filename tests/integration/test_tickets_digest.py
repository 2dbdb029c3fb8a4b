"""Open tickets join the morning digest as a section of each person's one message."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.delivery import ticket_flow
from orderdesk.delivery.tickets import NewTicket, create_ticket
from orderdesk.jobs import money
from orderdesk.models import OutboxMessage
from orderdesk.runtime import Runtime
from tests.api_world import build

CST = ZoneInfo("Asia/Shanghai")


def test_open_tickets_are_a_section_of_the_one_morning_message(
    rt: Runtime, session: Session
) -> None:
    w = build(session)
    with clock.frozen(datetime(2026, 12, 7, 16, 0, tzinfo=CST)):
        for title, who in (("登录页报错", "sales1"), ("报表慢", "dev1"), ("已处理", "dev1")):
            create_ticket(
                session,
                actor=w["sales1"],
                data=NewTicket(w.o1.number, title, priority="P2", assignee_userid=who),
            )
        session.commit()
        done = session.scalars(select(OutboxMessage)).all()  # the new-ticket notices
        ticket_flow.transition(session, actor=w["dev1"], number="TK-2026-00003", to="resolved")
        session.commit()
    with clock.frozen(datetime(2026, 12, 8, 9, 10, tzinfo=CST)):  # a Tuesday
        first = money.morning_digest()
        again = money.morning_digest()
    assert first["people"] == 2 and again["messages"] == 0
    known = {m.id for m in done}
    rows = [
        r
        for r in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        if r.id not in known
    ]
    by_person = {r.recipient: r.payload["markdown"]["content"] for r in rows}
    assert sorted(by_person) == ["dev1", "sales1"]  # one message each, never a second
    sales = by_person["sales1"]
    assert "回款提醒" in sales and "未完成工单 1 张" in sales and "登录页报错" in sales
    dev = by_person["dev1"]
    assert "今日待办" in dev and "未完成工单 1 张" in dev and "报表慢" in dev
    assert "已处理" not in dev and "¥" not in dev
