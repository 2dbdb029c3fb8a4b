"""Ticket SLAs and queues in the YAML configuration: imported, used by new tickets, exported
back the same; a bad document is refused whole."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.config.yaml_io import export_config, import_yaml
from orderdesk.core import clock
from orderdesk.core.errors import ValidationFailed
from orderdesk.delivery.tickets import NewTicket, create_ticket
from orderdesk.models import BusinessLine, Department, TicketQueue, TicketSla
from tests.api_world import World, build

CST = ZoneInfo("Asia/Shanghai")
DOC = """
version: 1
business_lines:
  - {code: IT, name: IT 实施}
ticket_slas:
  - code: P1
    name: 紧急
    first_response_minutes: 30
    resolution_minutes: 240
    around_the_clock: true
    remind_before_minutes: 10
    escalate_every_minutes: 30
ticket_queues:
  - {code: IT, name: IT 售后, business_line: IT, department: 交付部, head: gm}
"""


@pytest.fixture
def world(session: Session) -> World:
    w = build(session)
    session.add(Department(name="交付部", head_userid="mgr2"))
    session.commit()
    return w


def test_imported_sla_and_queue_drive_new_tickets_and_export_back(
    session: Session, world: World
) -> None:
    import_yaml(session, DOC)
    session.commit()
    line = session.scalar(select(BusinessLine).where(BusinessLine.code == "IT"))
    assert line is not None
    world.o1.business_line_id = line.id
    session.commit()
    at = datetime(2026, 12, 6, 3, 0, tzinfo=CST)  # a Sunday night: P1 runs around the clock
    with clock.frozen(at):
        ticket = create_ticket(
            session, actor=world["sales1"], data=NewTicket(world.o1.number, "宕机", priority="P1")
        )
    assert ticket.first_response_due_at == at + timedelta(minutes=30)
    assert ticket.remind_at == at + timedelta(minutes=20)
    assert ticket.escalate3_at == at + timedelta(minutes=90)
    assert ticket.assignee_id is None and ticket.business_line_id == line.id  # the queue
    data = export_config(session)
    assert data["ticket_slas"] == [
        {
            "code": "P1",
            "name": "紧急",
            "around_the_clock": True,
            "escalate_every_minutes": 30,
            "first_response_minutes": 30,
            "remind_before_minutes": 10,
            "resolution_minutes": 240,
        }
    ]
    assert data["ticket_queues"] == [
        {
            "code": "IT",
            "name": "IT 售后",
            "business_line": "IT",
            "department": "交付部",
            "head": "gm",
        }
    ]


def test_a_bad_ticket_section_is_refused_whole(session: Session, world: World) -> None:
    bad = DOC.replace("code: P1", "code: P5").replace(
        "resolution_minutes: 240", "resolution_minutes: 5"
    )
    with pytest.raises(ValidationFailed) as refused:
        import_yaml(session, bad)
    assert set(refused.value.fields) >= {"ticket_slas[0].code", "ticket_slas[0].resolution_minutes"}
    session.rollback()
    unknown_dept = DOC.replace("department: 交付部", "department: 不存在")
    with pytest.raises(ValidationFailed):
        import_yaml(session, unknown_dept)
    session.rollback()
    assert session.scalars(select(TicketSla)).all() == []
    assert session.scalars(select(TicketQueue)).all() == []
