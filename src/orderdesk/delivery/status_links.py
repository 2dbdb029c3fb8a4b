"""Status links: a signed, revocable, expiring, read-only view of one order for its client.

The token is 256 random bits, handed out once; the database keeps only its HMAC under the
secret key, so neither a guess nor a copy of the database opens a page. Every refusal (unknown,
revoked, expired) is the same `NotFound`: a visitor cannot tell which tokens ever existed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from orderdesk.core import clock
from orderdesk.core.errors import NotFound, PermissionDenied, ValidationFailed
from orderdesk.delivery import messages
from orderdesk.delivery.tickets import client_tickets
from orderdesk.directory.permissions import can_manage, can_see_order
from orderdesk.models import ClientLink, Milestone, Order, Project, Staff
from orderdesk.orders import timeline
from orderdesk.orders.queries import get_order

DEFAULT_DAYS = 30
MAX_DAYS = 180
LINK_NOT_FOUND = "链接无效或已过期"
_KIND_ZH = {True: "客户进度链接", False: "交付物确认链接"}


def digest(token: str, secret: str) -> str:
    return hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def link_url(public_url: str, token: str) -> str:
    """The address a client opens; the path alone when PUBLIC_URL is not configured."""
    return f"{public_url.rstrip('/')}/c/{token}"


@dataclass(frozen=True)
class IssuedLink:
    link: ClientLink
    token: str  # shown once, never stored


def create_link(
    session: Session, *, actor: Staff, number: str, secret: str, days: int | None = None
) -> IssuedLink:
    """A new link for the order (the owner, its PM or a manager in scope); older links stay
    valid until they expire or are revoked."""
    days = DEFAULT_DAYS if days is None else days
    if not 1 <= days <= MAX_DAYS:
        raise ValidationFailed(f"有效期需为 1–{MAX_DAYS} 天", fields={"days": f"1–{MAX_DAYS}"})
    order = get_order(session, actor=actor, number=number)
    if not can_manage(actor, order):
        raise PermissionDenied("只有订单负责人、项目经理或其上级可以生成客户进度链接")
    issued = issue_link(session, order=order, actor=actor, secret=secret, days=days)
    link = issued.link
    timeline.record(
        session,
        kind="client_link",
        actor=actor,
        body=messages.link_created(actor, link, clock.company_tz(session)),
        order=order,
        data={"link_id": link.id, "event": "created"},
    )
    return issued


def issue_link(
    session: Session,
    *,
    order: Order,
    actor: Staff,
    secret: str,
    days: int,
    version_id: int | None = None,
) -> IssuedLink:
    """The one token scheme for client links: 256 random bits, only the keyed digest stored.
    `version_id` makes it a sign-off link for that deliverable version (delivery.signoff)."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    link = ClientLink(
        order=order,
        token_digest=digest(token, secret),
        created_by_id=actor.id,
        created_at=now,
        expires_at=now + timedelta(days=days),
        views=0,
        version_id=version_id,
    )
    session.add(link)
    session.flush()
    return IssuedLink(link=link, token=token)


def live_link(
    session: Session, *, token: str, secret: str, signoff: bool, options: tuple[Any, ...] = ()
) -> ClientLink:
    """The link behind a token if it is of the asked kind and neither revoked nor expired;
    every other case is the same NotFound (a status token never opens a sign-off page, and
    the other way round)."""
    kind = ClientLink.version_id.is_not(None) if signoff else ClientLink.version_id.is_(None)
    link = session.scalar(
        select(ClientLink)
        .where(ClientLink.token_digest == digest(token, secret), kind)
        .options(*options)
    )
    if link is None or link.revoked_at is not None or link.expires_at <= clock.now():
        raise NotFound(LINK_NOT_FOUND)
    return link


def count_view(
    session: Session, link: ClientLink, *, body: str, ip: str | None, user_agent: str | None
) -> None:
    """Count a view (an atomic increment: two clients opening at once both count) and log it
    on the order's timeline."""
    session.execute(
        update(ClientLink)
        .where(ClientLink.id == link.id)
        .values(views=ClientLink.views + 1, last_viewed_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    timeline.record(
        session,
        kind="client_view",
        actor=None,
        body=body,
        order=link.order,
        data={"link_id": link.id, "event": "viewed"},
        ip=ip,
        user_agent=user_agent,
    )


def revoke_link(session: Session, *, actor: Staff, link_id: int) -> ClientLink:
    """Revoke one link; a link of an order out of the actor's scope reads as missing."""
    link = session.get(ClientLink, link_id)
    # Out of scope reads exactly like a link that does not exist (no order number in it).
    if link is None or not can_see_order(actor, link.order):
        raise NotFound("找不到该进度链接")
    order = link.order
    if not can_manage(actor, order):
        raise PermissionDenied("只有订单负责人、项目经理或其上级可以撤销客户进度链接")
    if link.revoked_at is None:
        link.revoked_at = clock.now()
        link.revoked_by_id = actor.id
        timeline.record(
            session,
            kind="client_link",
            actor=actor,
            body=f"{actor.name} 撤销了{_KIND_ZH[link.version_id is None]} #{link.id}",
            order=order,
            data={"link_id": link.id, "event": "revoked"},
        )
    return link


def links_of(session: Session, *, actor: Staff, number: str) -> list[ClientLink]:
    order = get_order(session, actor=actor, number=number)
    return list(
        session.scalars(
            select(ClientLink)
            .where(ClientLink.order_id == order.id, ClientLink.version_id.is_(None))
            .order_by(ClientLink.id)
        )
    )


@dataclass(frozen=True)
class MilestoneView:
    name: str
    due_date: date | None
    status: str
    accepted_on: date | None


@dataclass(frozen=True)
class ContactView:
    role: str
    name: str
    phone: str | None


@dataclass(frozen=True)
class ClientStatus:
    """Everything the client page shows, and nothing else: no amounts, no internal notes."""

    number: str
    title: str
    customer: str
    status: str
    milestones: list[MilestoneView]
    last_done: MilestoneView | None
    next_up: MilestoneView | None
    deliverables: list[tuple[str, str]]
    contacts: list[ContactView]
    expires_at: datetime
    # Issue 15 tickets: the order's open tickets as the client sees them (title, status).
    tickets: list[tuple[str, str]] = field(default_factory=list)


# Everything the page reads, in one joined SELECT plus two for the project's lists (a view is
# a handful of statements, not 14: under load each round trip costs milliseconds of CPU
# queueing). Staff roles are never shown here, so they are not loaded.
_ORDER = joinedload(ClientLink.order)
_PAGE_LOADS = (
    _ORDER.joinedload(Order.customer),
    _ORDER.joinedload(Order.order_type),
    _ORDER.joinedload(Order.owner).lazyload(Staff.role_rows),
    _ORDER.joinedload(Order.project).joinedload(Project.pm).lazyload(Staff.role_rows),
    _ORDER.joinedload(Order.project).selectinload(Project.milestones),
    _ORDER.joinedload(Order.project).selectinload(Project.deliverables),
)


def open_link(
    session: Session, *, token: str, secret: str, ip: str | None, user_agent: str | None
) -> ClientStatus:
    """The status behind a token, counting the view and logging it on the order's timeline."""
    link = live_link(session, token=token, secret=secret, signoff=False, options=_PAGE_LOADS)
    body = f"客户查看了进度链接 #{link.id}"
    count_view(session, link, body=body, ip=ip, user_agent=user_agent)
    status = _status_of(link.order, link, clock.company_tz(session))
    return replace(status, tickets=client_tickets(session, link.order.id))


def _milestone(m: Milestone, tz_date: date | None) -> MilestoneView:
    return MilestoneView(
        name=m.name,
        due_date=m.due_date,
        status=messages.MILESTONE_STATUS_ZH.get(m.status, m.status),
        accepted_on=tz_date,
    )


def _status_of(order: Order, link: ClientLink, tz: ZoneInfo) -> ClientStatus:
    project = order.project
    milestones = [
        _milestone(m, m.accepted_at.astimezone(tz).date() if m.accepted_at else None)
        for m in (project.milestones if project else [])
    ]
    done = [v for v in milestones if v.accepted_on is not None]
    pending = [v for v in milestones if v.accepted_on is None]
    deliverables = [
        (d.name, messages.DELIVERABLE_STATUS_ZH.get(d.status, d.status))
        for d in (project.deliverables if project else [])
    ]
    return ClientStatus(
        number=order.number,
        title=order.title,
        customer=order.customer.name,
        status=order.status_zh,
        milestones=milestones,
        last_done=max(done, key=lambda v: v.accepted_on or date.min) if done else None,
        next_up=pending[0] if pending else None,
        deliverables=deliverables,
        contacts=_contacts(order),
        expires_at=link.expires_at,
    )


def _contacts(order: Order) -> list[ContactView]:
    """Who the client talks to; mobile numbers only when the order type allows it."""
    phones = bool(order.order_type.client_page_phones)
    people: list[tuple[str, Staff | None]] = [
        ("项目经理", order.project.pm if order.project else None),
        ("客户经理", order.owner),
    ]
    return [
        ContactView(role=role, name=s.name, phone=(s.mobile or None) if phones else None)
        for role, s in people
        if s is not None and s.active
    ]
