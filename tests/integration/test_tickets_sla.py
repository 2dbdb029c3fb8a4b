"""After-sales tickets: SLA reminders and escalation once per ticket and level (under re-runs
and two workers), business-hours tickets left alone at night and on holidays, transitions
refused when not allowed, and scope."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.core.errors import IllegalTransition, NotFound, PermissionDenied
from orderdesk.delivery import ticket_flow
from orderdesk.delivery.ticket_scan import scan
from orderdesk.delivery.tickets import NewTicket, create_ticket, get_ticket, my_open_tickets
from orderdesk.models import (
    BusinessLine,
    Department,
    OutboxMessage,
    TicketEvent,
    TicketQueue,
)
from orderdesk.runtime import Runtime
from orderdesk.settings import Settings, load_settings
from tests.api_world import World, build

CST = ZoneInfo("Asia/Shanghai")
HOLIDAY = "2026-12-07"  # a Monday the company takes off


@pytest.fixture
def settings(database_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return load_settings(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "STORAGE_DIR": str(tmp_path / "storage"),
            "JOBS_SYNC": "true",
            "HOLIDAYS": HOLIDAY,
            "BUSINESS_HOURS": "09:00-18:00",
        },
        dotenv=False,
    )


@pytest.fixture
def world(session: Session) -> World:
    w = build(session)
    line = BusinessLine(code="IT", name="IT 实施")
    team = Department(name="交付部", head_userid="mgr2")
    session.add_all([line, team])
    session.flush()
    session.add(
        TicketQueue(
            code="IT", name="IT 队列", business_line=line, department=team, head_userid="gm"
        )
    )
    w.o1.business_line_id = line.id
    w["dev1"].manager = w["pm1"]
    w["dev1"].department = team
    session.commit()
    return w


def _keys(session: Session) -> list[tuple[str, str]]:
    session.expire_all()
    rows = session.scalars(
        select(OutboxMessage).where(OutboxMessage.idempotency_key.like("ticket-sla:%"))
    ).all()
    return sorted((r.idempotency_key.split(":")[1], r.recipient) for r in rows)


def _scan(rt: Runtime) -> None:
    with rt.db.transaction() as s:
        scan(s)


def test_p1_breach_escalates_exactly_once_per_level(
    rt: Runtime, session: Session, world: World
) -> None:
    saturday_night = datetime(2026, 12, 5, 2, 0, tzinfo=CST)  # P1 runs around the clock
    with clock.frozen(saturday_night) as advance:
        ticket = create_ticket(
            session,
            actor=world["sales1"],
            data=NewTicket(world.o1.number, "登录页报错", priority="P1", assignee_userid="dev1"),
        )
        session.commit()
        assert ticket.first_response_due_at == saturday_night + timedelta(hours=1)
        _scan(rt)
        assert _keys(session) == []
        steps = [
            (timedelta(minutes=46), [("L0", "dev1")]),  # reminder 15 min before the breach
            (timedelta(minutes=15), [("L0", "dev1"), ("L1", "dev1")]),  # breached: assignee
            (timedelta(hours=1), [("L0", "dev1"), ("L1", "dev1"), ("L2", "pm1")]),  # manager
            (timedelta(hours=1), [("L0", "dev1"), ("L1", "dev1"), ("L2", "pm1"), ("L3", "gm")]),
        ]
        for delta, expected in steps:
            advance(delta)
            for _ in range(3):  # re-runs change nothing
                _scan(rt)
            assert _keys(session) == expected
        advance(timedelta(days=2))
        _scan(rt)
        assert len(_keys(session)) == 4  # nothing beyond the last level
    session.expire_all()
    assert ticket.escalation_level == 3 and ticket.breached
    sla_events = [e.body for e in ticket.events if e.kind == "sla"]
    assert len(sla_events) == 4


def test_two_workers_scanning_at_once_notify_once(
    rt: Runtime, session: Session, world: World
) -> None:
    start = datetime(2026, 12, 8, 10, 0, tzinfo=CST)
    with clock.frozen(start) as advance:
        for i in range(5):
            create_ticket(
                session,
                actor=world["sales1"],
                data=NewTicket(world.o1.number, f"问题 {i}", priority="P1", assignee_userid="dev1"),
            )
        session.commit()
        advance(timedelta(hours=1, minutes=1))
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def worker() -> None:
            # Delivery is left to the (absent) worker: only the scan's claims race here.
            s = rt.db.Session()
            try:
                barrier.wait()
                scan(s)
                s.info.pop("outbox_dirty", None)
                s.commit()
            except BaseException as exc:  # reported by the assertion below
                errors.append(exc)
            finally:
                s.close()

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    # one reminder and one breach notice to dev1, each listing the five tickets
    assert _keys(session) == [("L0", "dev1"), ("L1", "dev1")]
    events = session.scalars(select(TicketEvent).where(TicketEvent.kind == "sla")).all()
    assert len(events) == 10


def test_business_hours_ticket_waits_through_night_weekend_and_holiday(
    rt: Runtime, session: Session, world: World
) -> None:
    friday = datetime(2026, 12, 4, 17, 0, tzinfo=CST)
    with clock.frozen(friday) as advance:
        ticket = create_ticket(
            session,
            actor=world["sales1"],
            data=NewTicket(world.o1.number, "报表导出慢", priority="P2", assignee_userid="dev1"),
        )
        session.commit()
        # 2 business hours: 1 on Friday, then Tuesday 09:00-10:00 (Monday is a holiday).
        assert ticket.first_response_due_at == datetime(2026, 12, 8, 10, 0, tzinfo=CST)
        # Friday 19:00 (night), then Saturday, Sunday and the Monday holiday at 10:00: the
        # ticket is overdue-ish by the wall clock but no business minute has passed.
        for hours in (2, 15, 24, 24):
            advance(timedelta(hours=hours))
            _scan(rt)
            assert _keys(session) == []
        advance(timedelta(hours=23, minutes=30))  # Tuesday 09:30: 30 min before the breach
        _scan(rt)
        assert _keys(session) == [("L0", "dev1")]
        advance(timedelta(minutes=31))
        _scan(rt)
        assert _keys(session) == [("L0", "dev1"), ("L1", "dev1")]


def test_queue_ticket_notifies_the_team_and_picking_it_up_is_the_first_response(
    session: Session, world: World
) -> None:
    ticket = create_ticket(
        session, actor=world["sales1"], data=NewTicket(world.o1.number, "无法导出")
    )
    session.commit()
    assert ticket.assignee_id is None
    new = session.scalars(
        select(OutboxMessage.recipient).where(OutboxMessage.idempotency_key.like("ticket-new:%"))
    ).all()
    assert new == ["dev1"]  # the queue's team
    assert [t.number for t in my_open_tickets(session, actor=world["dev1"])] == [ticket.number]
    assert my_open_tickets(session, actor=world["sales3"]) == []
    # dev1 sees the queue's ticket even without the order; sales3 (another team) does not
    taken = ticket_flow.transition(
        session, actor=world["dev1"], number=ticket.number, to="in_progress"
    )
    assert taken.assignee_id == world["dev1"].id and taken.first_response_at is not None
    session.commit()
    with pytest.raises(NotFound) as outside:
        get_ticket(session, actor=world["sales3"], number=ticket.number)
    with pytest.raises(NotFound) as missing:
        get_ticket(session, actor=world["sales3"], number="TK-2099-00001")
    assert outside.value.message.replace(ticket.number, "X") == missing.value.message.replace(
        "TK-2099-00001", "X"
    )


def test_transitions_refused_when_not_allowed(session: Session, world: World) -> None:
    start = datetime(2026, 12, 8, 10, 0, tzinfo=CST)
    with clock.frozen(start) as advance:
        ticket = create_ticket(
            session,
            actor=world["sales1"],
            data=NewTicket(world.o1.number, "接口超时", priority="P3", assignee_userid="pm1"),
        )
        session.commit()
        number = ticket.number
        # dev1 sees the order (task owner) but neither handles the ticket nor manages the order
        with pytest.raises(PermissionDenied):
            ticket_flow.transition(session, actor=world["dev1"], number=number, to="resolved")
        session.rollback()
        with pytest.raises(NotFound):
            ticket_flow.transition(session, actor=world["sales3"], number=number, to="resolved")
        session.rollback()
        with pytest.raises(IllegalTransition):
            ticket_flow.transition(session, actor=world["pm1"], number=number, to="reopen")
        session.rollback()
        ticket_flow.transition(session, actor=world["pm1"], number=number, to="resolved")
        session.commit()
        with pytest.raises(IllegalTransition):
            ticket_flow.transition(session, actor=world["pm1"], number=number, to="waiting_client")
        session.rollback()
        ticket_flow.transition(session, actor=world["sales1"], number=number, to="closed")
        session.commit()
        advance(timedelta(days=8))  # past TICKET_REOPEN_DAYS (7)
        with pytest.raises(IllegalTransition):
            ticket_flow.transition(session, actor=world["sales1"], number=number, to="reopen")
        session.rollback()
    session.expire_all()
    assert ticket.status == "closed"
    assert [e.kind for e in ticket.events] == ["created", "status", "status"]


def test_reopen_within_the_window_restarts_the_resolution_clock(
    session: Session, world: World
) -> None:
    start = datetime(2026, 12, 8, 10, 0, tzinfo=CST)
    with clock.frozen(start) as advance:
        ticket = create_ticket(
            session,
            actor=world["sales1"],
            data=NewTicket(world.o1.number, "打印乱码", priority="P1", assignee_userid="pm1"),
        )
        ticket_flow.comment(session, actor=world["pm1"], number=ticket.number, body="已在排查")
        ticket_flow.transition(session, actor=world["pm1"], number=ticket.number, to="resolved")
        session.commit()
        assert ticket.breach_at is None and ticket.remind_at is None
        advance(timedelta(days=2))
        ticket_flow.transition(session, actor=world["sales1"], number=ticket.number, to="reopen")
        session.commit()
        assert ticket.status == "in_progress" and ticket.reopen_count == 1
        assert ticket.breach_at == clock.now() + timedelta(hours=8)


def test_waiting_for_the_client_stops_the_clock(
    rt: Runtime, session: Session, world: World
) -> None:
    tuesday = datetime(2026, 12, 8, 10, 0, tzinfo=CST)
    with clock.frozen(tuesday) as advance:
        ticket = create_ticket(
            session,
            actor=world["sales1"],
            data=NewTicket(
                world.o1.number, "需要客户提供日志", priority="P2", assignee_userid="dev1"
            ),
        )
        session.commit()
        # 11 business hours of 09:00-18:00: Tuesday 10-18 (8 h), Wednesday 09-12 (3 h)
        assert ticket.resolution_due_at == datetime(2026, 12, 9, 12, 0, tzinfo=CST)
        advance(timedelta(minutes=30))
        ticket_flow.transition(
            session, actor=world["dev1"], number=ticket.number, to="waiting_client"
        )
        session.commit()
        advance(timedelta(hours=27))  # Wednesday 13:30: past the old due time
        _scan(rt)
        assert _keys(session) == []
        advance(timedelta(hours=20, minutes=30))  # Thursday 10:00, the client answered
        ticket_flow.transition(session, actor=world["dev1"], number=ticket.number, to="in_progress")
        session.commit()
    # paused 7.5 + 9 + 1 = 17.5 business hours: Wednesday 12:00 moves to Friday 11:30
    assert ticket.resolution_due_at == datetime(2026, 12, 11, 11, 30, tzinfo=CST)
    assert ticket.breach_at == ticket.resolution_due_at and ticket.paused_at is None
