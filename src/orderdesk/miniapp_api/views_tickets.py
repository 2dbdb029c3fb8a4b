"""After-sales tickets (issue 15): create, list, detail, transition, assign, comment."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from orderdesk.delivery import ticket_flow
from orderdesk.delivery.tickets import (
    NewTicket,
    TicketFilter,
    create_ticket,
    get_ticket,
    list_tickets,
)
from orderdesk.miniapp_api import serialize
from orderdesk.miniapp_api.registry import Ctx, Reply, endpoint
from orderdesk.miniapp_api.schemas import BOOL, INT, NSTR, STR, array, nullable, obj, r
from orderdesk.models import Order, Staff, Ticket
from orderdesk.models.ticket import PRIORITIES, TICKET_CATEGORIES, TICKET_STATUSES
from orderdesk.orders.numbers import normalize_number

TK = {
    "tk": {"type": "string", "minLength": 1, "maxLength": 32, "description": "工单号 TK-YYYY-NNNNN"}
}
PERSON = nullable(obj({"userid": STR, "name": STR}))
WHEN = r("DateTimeOrNull")
TICKET_FIELDS = {
    "number": STR,
    "title": STR,
    "category": {"type": "string", "enum": list(TICKET_CATEGORIES)},
    "priority": {"type": "string", "enum": list(PRIORITIES)},
    "status": {"type": "string", "enum": list(TICKET_STATUSES)},
    "status_zh": STR,
    "order_number": STR,
    "customer": STR,
    "assignee": PERSON,
    "queue": NSTR,
    "created_at": r("DateTime"),
    "first_response_at": WHEN,
    "first_response_due_at": WHEN,
    "resolved_at": WHEN,
    "resolution_due_at": WHEN,
    "escalation_level": INT,
    "breached": BOOL,
}
TICKET = obj(TICKET_FIELDS)
EVENT = obj({"kind": STR, "body": STR, "actor": PERSON, "at": r("DateTime")})
DETAIL = obj({**TICKET_FIELDS, "description": STR, "events": array(EVENT)})
LIST_QUERY = {
    "type": "object",
    "properties": {
        "status": {"type": "string", "enum": [*TICKET_STATUSES, "open"]},
        "priority": {"type": "string", "enum": list(PRIORITIES)},
        "assignee": {"type": "string", "maxLength": 64, "description": "处理人 userid,me 为自己"},
        "order": {"type": "string", "maxLength": 32, "description": "订单号"},
        "limit": {"type": "integer", "minimum": 1, "maximum": 200},
    },
}
CREATE_BODY = obj(
    {"order_number": {"type": "string", "minLength": 1, "maxLength": 32}, "title": STR},
    {
        "description": {"type": "string", "maxLength": 5000},
        "category": {"type": "string", "enum": list(TICKET_CATEGORIES)},
        "priority": {"type": "string", "enum": list(PRIORITIES)},
        "assignee": {
            "type": "string",
            "maxLength": 64,
            "description": "处理人 userid;不填则进入队列",
        },
    },
)


def _ticket(ctx: Ctx, t: Ticket) -> dict[str, Any]:
    tz = ctx.tz
    return {
        "number": t.number,
        "title": t.title,
        "category": t.category,
        "priority": t.priority,
        "status": t.status,
        "status_zh": t.status_zh,
        "order_number": t.order.number,
        "customer": t.customer.name,
        "assignee": serialize.staff_ref(t.assignee),
        "queue": t.business_line.name if t.assignee is None and t.business_line else None,
        "created_at": serialize.when(t.created_at, tz),
        "first_response_at": serialize.when(t.first_response_at, tz),
        "first_response_due_at": serialize.when(t.first_response_due_at, tz),
        "resolved_at": serialize.when(t.resolved_at, tz),
        "resolution_due_at": serialize.when(t.resolution_due_at, tz),
        "escalation_level": t.escalation_level,
        "breached": t.breached,
    }


def _detail(ctx: Ctx, t: Ticket) -> dict[str, Any]:
    events = [
        {
            "kind": e.kind,
            "body": e.body,
            "actor": serialize.staff_ref(e.actor),
            "at": serialize.when(e.created_at, ctx.tz),
        }
        for e in t.events
    ]
    return {**_ticket(ctx, t), "description": t.description, "events": events}


@endpoint(
    "POST",
    "/tickets",
    tag="tickets",
    summary="新建售后工单(订单须在可见范围内)",
    body=CREATE_BODY,
    responses={201: DETAIL},
    errors=(404,),
)
def create_ticket_endpoint(ctx: Ctx) -> Reply:
    b = ctx.body
    ticket = create_ticket(
        ctx.session,
        actor=ctx.actor,
        data=NewTicket(
            order_number=b["order_number"],
            title=b["title"],
            description=b.get("description", ""),
            category=b.get("category", "other"),
            priority=b.get("priority", "P3"),
            assignee_userid=b.get("assignee"),
        ),
    )
    return _detail(ctx, ticket), 201, {"Location": f"/api/v1/tickets/{ticket.number}"}


def _filter(ctx: Ctx) -> TicketFilter | None:
    """The query as a filter; None when it names an order or person that cannot match."""
    q = ctx.query
    assignee_id = order_id = None
    if q.get("assignee"):
        userid = ctx.actor.userid if q["assignee"] == "me" else q["assignee"]
        assignee_id = ctx.session.scalar(select(Staff.id).where(Staff.userid == userid))
        if assignee_id is None:
            return None
    if q.get("order"):
        wanted = normalize_number(q["order"]) or q["order"].strip().upper()
        order_id = ctx.session.scalar(select(Order.id).where(Order.number == wanted))
        if order_id is None:
            return None
    return TicketFilter(q.get("status"), q.get("priority"), assignee_id, order_id)


@endpoint(
    "GET",
    "/tickets",
    tag="tickets",
    summary="工单列表(可见范围内,按新建倒序;状态 open 为未完成)",
    query=LIST_QUERY,
    responses={200: obj({"items": array(TICKET)})},
)
def list_tickets_endpoint(ctx: Ctx) -> Reply:
    where = _filter(ctx)
    if where is None:
        return {"items": []}
    found = list_tickets(
        ctx.session, actor=ctx.actor, where=where, limit=ctx.query.get("limit", 50)
    )
    return {"items": [_ticket(ctx, t) for t in found]}


@endpoint(
    "GET",
    "/tickets/<tk>",
    tag="tickets",
    summary="工单详情(含工单时间线)",
    path_schemas=TK,
    responses={200: DETAIL},
)
def ticket_detail(ctx: Ctx, tk: str) -> Reply:
    return _detail(ctx, get_ticket(ctx.session, actor=ctx.actor, number=tk))


@endpoint(
    "POST",
    "/tickets/<tk>/transition",
    tag="tickets",
    summary="更新工单状态(in_progress / waiting_client / resolved / closed / reopen)",
    path_schemas=TK,
    body=obj({"to": {"type": "string", "enum": [*TICKET_STATUSES[1:], "reopen"]}}),
    responses={200: DETAIL},
    errors=(403, 409),
)
def transition_ticket(ctx: Ctx, tk: str) -> Reply:
    ticket = ticket_flow.transition(ctx.session, actor=ctx.actor, number=tk, to=ctx.body["to"])
    return _detail(ctx, ticket)


@endpoint(
    "POST",
    "/tickets/<tk>/assign",
    tag="tickets",
    summary="分派工单给某人,或退回业务线队列(assignee 为 null)",
    path_schemas=TK,
    body=obj({"assignee": {"type": ["string", "null"], "maxLength": 64}}),
    responses={200: DETAIL},
    errors=(403, 409),
)
def assign_ticket(ctx: Ctx, tk: str) -> Reply:
    ticket = ticket_flow.assign(
        ctx.session, actor=ctx.actor, number=tk, userid=ctx.body["assignee"]
    )
    return _detail(ctx, ticket)


@endpoint(
    "POST",
    "/tickets/<tk>/comments",
    tag="tickets",
    summary="工单备注(处理人的第一条备注即首次响应)",
    path_schemas=TK,
    body=obj({"body": {"type": "string", "minLength": 1, "maxLength": ticket_flow.COMMENT_MAX}}),
    responses={201: DETAIL},
    errors=(403,),
)
def comment_ticket(ctx: Ctx, tk: str) -> Reply:
    ticket = ticket_flow.comment(ctx.session, actor=ctx.actor, number=tk, body=ctx.body["body"])
    return _detail(ctx, ticket), 201
