"""Ticket steps: transitions (with who may take them), assignment, comments and reopening.

new -> in_progress -> waiting_client -> resolved -> closed, and back to in_progress from
resolved or closed within TICKET_REOPEN_DAYS (a reopen restarts the resolution clock). The
first step or comment of a handler is the first response. Each step locks the ticket row, so
two people pressing buttons at once cannot both move it.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.core.errors import IllegalTransition, PermissionDenied, ValidationFailed
from orderdesk.core.locks import lock_row
from orderdesk.delivery.ticket_sla import arm, pause, policy_for, resume, start_clock
from orderdesk.delivery.tickets import active_staff, get_ticket, handlers_of, queue_of, record
from orderdesk.directory.permissions import can_manage, can_see_order
from orderdesk.models import Staff, Ticket
from orderdesk.models.ticket import TICKET_STATUS_ZH

# target status -> statuses it may be reached from ("reopen" is its own action).
ALLOWED = {
    "in_progress": ("new", "waiting_client"),
    "waiting_client": ("new", "in_progress"),
    "resolved": ("new", "in_progress", "waiting_client"),
    "closed": ("new", "in_progress", "waiting_client", "resolved"),
}
WORK_STATUSES = ("in_progress", "waiting_client", "resolved")
COMMENT_MAX = 2000


def _locked(session: Session, actor: Staff, number: str) -> Ticket:
    ticket = get_ticket(session, actor=actor, number=number)
    locked = lock_row(session, Ticket, ticket.id)
    assert locked is not None  # it was just read and tickets are never deleted
    return locked


def is_handler(session: Session, actor: Staff, ticket: Ticket) -> bool:
    return any(p.id == actor.id for p in handlers_of(session, ticket))


def _may_work(session: Session, actor: Staff, ticket: Ticket) -> bool:
    return is_handler(session, actor, ticket) or can_manage(actor, ticket.order)


def _respond(session: Session, actor: Staff, ticket: Ticket) -> None:
    """The first step or comment by a handler stops the first-response clock."""
    if ticket.first_response_at is not None or not is_handler(session, actor, ticket):
        return
    now = clock.now()
    ticket.first_response_at = now
    ticket.breached = ticket.breached or now > ticket.first_response_due_at


def transition(session: Session, *, actor: Staff, number: str, to: str) -> Ticket:
    ticket = _locked(session, actor, number)
    if to == "reopen":
        return _reopen(session, actor, ticket)
    if to not in ALLOWED:
        raise ValidationFailed(f"未知状态 {to}", fields={"status": "unknown"})
    if ticket.status not in ALLOWED[to]:
        raise IllegalTransition(
            f"工单 {ticket.number} 当前为「{ticket.status_zh}」,不能改为「{TICKET_STATUS_ZH[to]}」"
        )
    closing_own = (
        to == "closed" and ticket.status == "resolved" and ticket.created_by_id == actor.id
    )
    if not (_may_work(session, actor, ticket) or closing_own):
        raise PermissionDenied("只有工单处理人、订单负责人、项目经理或其上级可以更新工单状态")
    if to in WORK_STATUSES and ticket.assignee_id is None and is_handler(session, actor, ticket):
        ticket.assignee = actor  # a queue member who picks the ticket up owns it
    _respond(session, actor, ticket)
    now = clock.now()
    if to == "resolved":
        ticket.resolved_at = now
    if to == "closed":
        ticket.closed_at = now
    before = ticket.status_zh
    settings = clock.settings_of(session)
    if ticket.status == "waiting_client":
        resume(ticket, now, settings)
    if to == "resolved":
        ticket.breached = ticket.breached or now > ticket.resolution_due_at
    ticket.status, ticket.updated_at = to, now
    if to == "waiting_client":
        pause(ticket, now)
    arm(ticket, policy_for(session, ticket.priority), settings)
    record(
        session,
        ticket,
        actor,
        "status",
        f"{actor.name} 将状态由「{before}」改为「{ticket.status_zh}」",
    )
    return ticket


def _reopen(session: Session, actor: Staff, ticket: Ticket) -> Ticket:
    if ticket.status not in ("resolved", "closed"):
        raise IllegalTransition(f"工单 {ticket.number} 尚未解决,无需重新打开")
    days = clock.settings_of(session).ticket_reopen_days
    since = ticket.resolved_at or ticket.closed_at or ticket.updated_at
    if clock.now() - since > timedelta(days=days):
        raise IllegalTransition(f"工单已解决超过 {days} 天,不能重新打开,请新建工单")
    now = clock.now()
    ticket.status, ticket.updated_at = "in_progress", now
    ticket.resolved_at = ticket.closed_at = None
    ticket.reopen_count += 1
    start_clock(ticket, policy_for(session, ticket.priority), now, clock.settings_of(session))
    record(session, ticket, actor, "reopened", f"{actor.name} 重新打开了工单")
    return ticket


def assign(session: Session, *, actor: Staff, number: str, userid: str | None) -> Ticket:
    """Hand the ticket to a person, or back to the queue (`userid` None)."""
    ticket = _locked(session, actor, number)
    if not ticket.is_open:
        raise IllegalTransition(f"工单 {ticket.number} 已{ticket.status_zh},不能再分派")
    if not _may_work(session, actor, ticket):
        raise PermissionDenied("只有工单处理人、订单负责人、项目经理或其上级可以分派工单")
    if userid is None:
        if queue_of(session, ticket.business_line_id) is None:
            raise ValidationFailed(
                "该业务线没有配置工单队列,请指定处理人", fields={"assignee": "required"}
            )
        ticket.assignee = None
        body = f"{actor.name} 将工单退回队列"
    else:
        person = active_staff(session, userid)
        ticket.assignee = person
        body = f"{actor.name} 将工单分派给 {person.name}"
    ticket.updated_at = clock.now()
    record(session, ticket, actor, "assigned", body)
    return ticket


def comment(session: Session, *, actor: Staff, number: str, body: str) -> Ticket:
    text = (body or "").strip()
    if not text or len(text) > COMMENT_MAX:
        raise ValidationFailed(f"备注须为 1–{COMMENT_MAX} 个字", fields={"body": "length"})
    ticket = _locked(session, actor, number)
    if not (can_see_order(actor, ticket.order) or is_handler(session, actor, ticket)):
        raise PermissionDenied("您无权在该工单上备注")
    _respond(session, actor, ticket)
    if ticket.first_response_at is not None:
        arm(ticket, policy_for(session, ticket.priority), clock.settings_of(session))
    ticket.updated_at = clock.now()
    record(session, ticket, actor, "comment", f"{actor.name}:{text}")
    return ticket
