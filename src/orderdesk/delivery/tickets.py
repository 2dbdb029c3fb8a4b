"""After-sales tickets (售后工单): create, look up and list, always inside the actor's scope.

Who sees a ticket: whoever sees its order (`directory.permissions.order_scope`), its assignee,
and the members of its queue (the delivery team of the business line). Out of scope reads
exactly like a wrong number. Transitions, assignment and comments live in `ticket_flow`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.core.errors import Conflict, NotFound, ValidationFailed
from orderdesk.delivery import ticket_messages as texts
from orderdesk.delivery.ticket_sla import policy_for, start_clock
from orderdesk.directory.permissions import order_scope
from orderdesk.models import Order, Staff, Ticket, TicketEvent, TicketQueue
from orderdesk.models.ticket import (
    OPEN_TICKET_STATUSES,
    PRIORITIES,
    TICKET_CATEGORIES,
    TICKET_STATUS_ZH,
)
from orderdesk.orders import timeline
from orderdesk.orders.queries import get_order
from orderdesk.wecom import cards, outbox

NUMBER_RE = re.compile(r"^\s*TK[-_ ]?(\d{4})[-_ ]?(\d{1,7})\s*$", re.IGNORECASE)
TITLE_MAX = 200
MAX_ATTEMPTS = 25


def normalize_ticket_number(text: str) -> str | None:
    match = NUMBER_RE.match(text or "")
    return f"TK-{match.group(1)}-{int(match.group(2)):05d}" if match else None


def queue_of(session: Session, business_line_id: int | None) -> TicketQueue | None:
    if business_line_id is None:
        return None
    return session.scalar(
        select(TicketQueue).where(TicketQueue.business_line_id == business_line_id)
    )


def ticket_scope(actor: Staff) -> ColumnElement[bool]:
    """A WHERE clause on `Ticket`: the tickets `actor` may see."""
    if not actor.active:
        return false()
    visible_orders = select(Order.id).where(order_scope(actor))
    clauses: list[ColumnElement[bool]] = [
        Ticket.order_id.in_(visible_orders),
        Ticket.assignee_id == actor.id,
    ]
    if actor.department_id is not None:
        lines = select(TicketQueue.business_line_id).where(
            TicketQueue.department_id == actor.department_id
        )
        clauses.append(Ticket.business_line_id.in_(lines))
    return or_(*clauses)


def get_ticket(session: Session, *, actor: Staff, number: str) -> Ticket:
    wanted = normalize_ticket_number(number)
    ticket = (
        session.scalar(select(Ticket).where(Ticket.number == wanted, ticket_scope(actor)))
        if wanted
        else None
    )
    if ticket is None:
        raise NotFound(f"找不到工单 {number}")
    return ticket


@dataclass(frozen=True)
class TicketFilter:
    status: str | None = None  # a status, or "open"
    priority: str | None = None
    assignee_id: int | None = None
    order_id: int | None = None


def list_tickets(
    session: Session, *, actor: Staff, where: TicketFilter, limit: int = 50
) -> list[Ticket]:
    """Newest first, inside the actor's scope."""
    stmt = select(Ticket).where(ticket_scope(actor))
    if where.status == "open":
        stmt = stmt.where(Ticket.status.in_(OPEN_TICKET_STATUSES))
    elif where.status is not None:
        stmt = stmt.where(Ticket.status == where.status)
    if where.priority is not None:
        stmt = stmt.where(Ticket.priority == where.priority)
    if where.assignee_id is not None:
        stmt = stmt.where(Ticket.assignee_id == where.assignee_id)
    if where.order_id is not None:
        stmt = stmt.where(Ticket.order_id == where.order_id)
    return list(session.scalars(stmt.order_by(Ticket.id.desc()).limit(limit)))


def my_open_tickets(session: Session, *, actor: Staff) -> list[Ticket]:
    """Open tickets assigned to me, and those waiting unassigned in my team's queue."""
    mine: ColumnElement[bool] = Ticket.assignee_id == actor.id
    if actor.department_id is not None:
        lines = select(TicketQueue.business_line_id).where(
            TicketQueue.department_id == actor.department_id
        )
        mine = or_(mine, and_(Ticket.assignee_id.is_(None), Ticket.business_line_id.in_(lines)))
    stmt = select(Ticket).where(Ticket.status.in_(OPEN_TICKET_STATUSES), mine)
    return list(session.scalars(stmt.order_by(Ticket.id.desc()).limit(200)))


@dataclass(frozen=True)
class NewTicket:
    order_number: str
    title: str
    description: str = ""
    category: str = "other"
    priority: str = "P3"
    assignee_userid: str | None = None


def _check(data: NewTicket) -> None:
    problems: dict[str, str] = {}
    if not data.title.strip():
        problems["title"] = "请填写问题描述"
    elif len(data.title.strip()) > TITLE_MAX:
        problems["title"] = f"标题最多 {TITLE_MAX} 个字"
    if data.priority not in PRIORITIES:
        problems["priority"] = f"优先级须为 {'/'.join(PRIORITIES)}"
    if data.category not in TICKET_CATEGORIES:
        problems["category"] = f"类别须为 {'/'.join(TICKET_CATEGORIES)} 之一"
    if problems:
        raise ValidationFailed("工单信息有误:" + ";".join(problems.values()), fields=problems)


def active_staff(session: Session, userid: str) -> Staff:
    person = session.scalar(select(Staff).where(Staff.userid == userid.strip()))
    if person is None or not person.active:
        raise ValidationFailed(f"找不到在职员工 {userid}", fields={"assignee": "unknown"})
    return person


def create_ticket(session: Session, *, actor: Staff, data: NewTicket) -> Ticket:
    """A ticket on an order the actor sees; assigned to the person named, else to the queue of
    the order's business line, else to the project's PM, else to the order's owner."""
    _check(data)
    order = get_order(session, actor=actor, number=data.order_number)
    now = clock.now()
    ticket = Ticket(
        title=data.title.strip(),
        description=data.description.strip(),
        category=data.category,
        priority=data.priority,
        status="new",
        customer_id=order.customer_id,
        order=order,
        project_id=order.project.id if order.project else None,
        business_line_id=order.business_line_id,
        created_by=actor,
        created_at=now,
        updated_at=now,
        reopen_count=0,
        escalation_level=0,
        breached=False,
    )
    ticket.assignee = _default_assignee(session, order, data.assignee_userid)
    settings = clock.settings_of(session)
    start_clock(ticket, policy_for(session, data.priority), now, settings)
    _insert_with_number(session, ticket)
    record(session, ticket, actor, "created", f"{actor.name} 创建了工单:{ticket.title}")
    _notify_new(session, ticket)
    return ticket


def _default_assignee(session: Session, order: Order, userid: str | None) -> Staff | None:
    if userid:
        return active_staff(session, userid)
    if queue_of(session, order.business_line_id) is not None:
        return None
    if order.project is not None and order.project.pm is not None and order.project.pm.active:
        return order.project.pm
    return order.owner


def _insert_with_number(session: Session, ticket: Ticket) -> None:
    """Next TK-YYYY-NNNNN as max+1 inside a savepoint, retried on a collision (like orders)."""
    year = clock.today(clock.company_tz(session)).year
    prefix = f"TK-{year}-"
    for _ in range(MAX_ATTEMPTS):
        last = session.scalar(
            select(Ticket.number)
            .where(Ticket.number.like(f"{prefix}%"))
            .order_by(func.length(Ticket.number).desc(), Ticket.number.desc())
            .limit(1)
        )
        ticket.number = f"{prefix}{(int(last[len(prefix) :]) + 1 if last else 1):05d}"
        # Releasing a savepoint fires the session's after_commit hook, which would start the
        # outbox delivery while our transaction still holds the rows: keep the flag for the
        # real commit.
        dirty = session.info.pop("outbox_dirty", False)
        try:
            with session.begin_nested():
                session.add(ticket)
                session.flush()
            return
        except IntegrityError:
            if session.scalar(select(Ticket.id).where(Ticket.number == ticket.number)) is None:
                raise
        finally:
            if dirty:
                session.info["outbox_dirty"] = True
    raise Conflict("工单编号生成冲突,请重试")


def record(session: Session, ticket: Ticket, actor: Staff | None, kind: str, body: str) -> None:
    """One step on the ticket's timeline and the same line on the order's timeline."""
    now = clock.now()
    session.add(TicketEvent(ticket=ticket, kind=kind, actor=actor, body=body, created_at=now))
    timeline.record(
        session,
        kind="ticket",
        actor=actor,
        body=f"工单 {ticket.number}:{body}",
        order=ticket.order,
        data={"ticket_id": ticket.id, "event": kind},
    )


def handlers_of(session: Session, ticket: Ticket) -> list[Staff]:
    """Who works the ticket now: its assignee, else the active members of its queue."""
    if ticket.assignee is not None:
        return [ticket.assignee] if ticket.assignee.active else []
    queue = queue_of(session, ticket.business_line_id)
    if queue is None or queue.department_id is None:
        return []
    return list(
        session.scalars(
            select(Staff)
            .where(Staff.department_id == queue.department_id, Staff.active.is_(True))
            .order_by(Staff.userid)
        )
    )


def _notify_new(session: Session, ticket: Ticket) -> None:
    text = texts.new_ticket_notice(ticket, clock.company_tz(session))
    for person in handlers_of(session, ticket):
        outbox.add(
            session,
            key=f"ticket-new:{ticket.id}:{person.userid}",
            channel="app_message",
            recipient=person.userid,
            payload=cards.app_markdown(text),
            order_id=ticket.order_id,
        )


def client_tickets(session: Session, order_id: int) -> list[tuple[str, str]]:
    """The order's open tickets for its client's status page: title and status, nothing
    internal (no handler, no SLA figures)."""
    rows = session.execute(
        select(Ticket.title, Ticket.status)
        .where(Ticket.order_id == order_id, Ticket.status.in_(OPEN_TICKET_STATUSES))
        .order_by(Ticket.id)
    )
    return [(title, TICKET_STATUS_ZH[status]) for title, status in rows]
