"""Weekly project digest into project groups."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.jobs import money
from orderdesk.models import ChatBinding, OutboxMessage, Task, TimeEntry
from orderdesk.runtime import Runtime
from tests.money_world import order_with_contract, project_for, staff

MONDAY = datetime(2026, 6, 8, 1, 40, tzinfo=UTC)  # 09:40 Shanghai


def test_weekly_digest_once_per_group_per_week(rt: Runtime, session: Session) -> None:
    owner = staff(session, "sales1", "sales")
    dev = staff(session, "dev1", "delivery")
    order = order_with_contract(session, owner=owner)
    project = project_for(session, order, group="prjso001", milestones=("启动", "上线", "验收"))
    project.milestones[0].status = "accepted"
    project.milestones[1].due_date = date(2026, 6, 20)
    project.tasks.extend(
        [
            Task(title="接口联调", due_date=date(2026, 6, 1), status="todo"),
            Task(title="需求确认", due_date=date(2026, 5, 20), status="done"),
        ]
    )
    session.add_all(
        [
            TimeEntry(staff=dev, project=project, work_date=date(2026, 6, 5), hours=Decimal("6")),
            TimeEntry(staff=dev, project=project, work_date=date(2026, 5, 1), hours=Decimal("4")),
        ]
    )
    # A client-facing group of the same project must never get internal progress.
    session.add(
        ChatBinding(kind="appchat", chat_id="clientgrp", project_id=project.id, audience="client")
    )
    session.commit()
    with clock.frozen(MONDAY) as advance:
        assert money.weekly_project_digest() == {"messages": 1}
        assert money.weekly_project_digest() == {"messages": 0}
        advance(timedelta(days=7))
        assert money.weekly_project_digest() == {"messages": 1}
    rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [r.recipient for r in rows] == ["prjso001", "prjso001"]
    text = rows[0].payload["markdown"]["content"]
    assert "2026-W24" in text
    assert "已完成 1/3" in text and "下一个:上线(计划 2026-06-20)" in text
    assert "逾期任务:1 项" in text and "接口联调" in text and "需求确认" not in text
    assert "本周 6.0 小时,累计 10.0 小时" in text


def test_a_bot_group_hears_its_weekly_digest_only_through_its_robot(
    rt: Runtime, session: Session
) -> None:
    """The intelligent bot cannot push: a bot group without a robot gets nothing; one with a
    registered robot (群机器人) gets the digest through the robot's webhook."""
    owner = staff(session, "sales1", "sales")
    order = order_with_contract(session, owner=owner)
    project = project_for(session, order, milestones=("启动",))
    key = "3f2a9c1e-7b4d-4e8f-9a6b-1c2d3e4f5a6b"
    session.add_all(
        [
            ChatBinding(kind="bot_group", chat_id="wrk-silent", project_id=project.id),
            ChatBinding(
                kind="bot_group", chat_id="wrk-robot", project_id=project.id, robot_key=key
            ),
        ]
    )
    session.commit()
    with clock.frozen(MONDAY):
        assert money.weekly_project_digest() == {"messages": 1}
    [row] = session.scalars(select(OutboxMessage)).all()
    assert (row.channel, row.recipient) == ("webhook", key)
    assert row.payload["msgtype"] == "markdown" and "项目周报" in row.payload["markdown"]["content"]
