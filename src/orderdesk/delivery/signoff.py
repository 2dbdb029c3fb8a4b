"""The client's sign-off of a deliverable version, through a link that needs no login.

A sign-off link is a client link (`status_links`: same random token, only its keyed digest
stored, same expiry and revocation) bound to one version. The client may also reach the page
from their status link while a live sign-off link for the version exists. The form carries a
token bound to the link and version (HMAC under the secret key): the page has no session, and
a cross-site form cannot know it. Only the current version can be signed, once.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.core.errors import (
    AlreadyDecided,
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from orderdesk.core.locks import lock_row
from orderdesk.delivery import deliverables, messages, status_links
from orderdesk.directory.permissions import can_manage
from orderdesk.models import (
    ChatBinding,
    ClientLink,
    Contact,
    Customer,
    Deliverable,
    DeliverableVersion,
    Order,
    OutboxMessage,
    Project,
    Staff,
)
from orderdesk.money.schedule import MoneyConfig, local_midnight_utc
from orderdesk.orders import timeline
from orderdesk.wecom import outbox

DECISIONS = {"approve": "approved", "changes": "changes"}
COMMENT_MAX = 1000
SUPERSEDED = "该版本已被新版本取代,不能再确认;请查看最新版本"


def _live(now: datetime) -> ColumnElement[bool]:
    return and_(ClientLink.revoked_at.is_(None), ClientLink.expires_at > now)


@dataclass(frozen=True)
class IssuedSignoff:
    issued: status_links.IssuedLink
    url: str
    sent: bool  # queued as an external-contact message task (the sender confirms it)


def create_link(
    session: Session,
    *,
    actor: Staff,
    version_id: int,
    secret: str,
    public_url: str,
    days: int | None = None,
    send: bool = False,
) -> IssuedSignoff:
    """A sign-off link for the current version (owner, PM or a manager in scope)."""
    days = status_links.DEFAULT_DAYS if days is None else days
    if not 1 <= days <= status_links.MAX_DAYS:
        limit = f"1–{status_links.MAX_DAYS}"
        raise ValidationFailed(f"有效期需为 {limit} 天", fields={"days": limit})
    version = deliverables.get_version(session, actor=actor, version_id=version_id)
    deliverable = version.deliverable
    order = deliverable.project.order
    if not can_manage(actor, order):
        raise PermissionDenied("只有订单负责人、项目经理或其上级可以生成交付物确认链接")
    if version.superseded_at is not None:
        raise Conflict(f"{version.label} 已被取代,只能请客户确认当前版本")
    if version.signoff_status in ("approved", "changes"):
        answer = messages.SIGNOFF_ZH[version.signoff_status]
        raise AlreadyDecided(f"{deliverable.name} {version.label} 已有结果:{answer}")
    issued = status_links.issue_link(
        session, order=order, actor=actor, secret=secret, days=days, version_id=version.id
    )
    version.signoff_status = "requested"
    tz = clock.company_tz(session)
    timeline.record(
        session,
        kind="client_link",
        actor=actor,
        body=messages.signoff_link_created(actor, issued.link, version.label, tz),
        order=order,
        data={"link_id": issued.link.id, "version_id": version.id, "event": "created"},
    )
    url = signoff_url(public_url, issued.token)
    sent = _send_invitation(session, actor, deliverable, version, url) if send else False
    return IssuedSignoff(issued=issued, url=url, sent=sent)


def links_of(session: Session, *, actor: Staff, version_id: int) -> list[ClientLink]:
    """The sign-off links of a version the actor may see (views, expiry, revocation)."""
    version = deliverables.get_version(session, actor=actor, version_id=version_id)
    return list(
        session.scalars(
            select(ClientLink).where(ClientLink.version_id == version.id).order_by(ClientLink.id)
        )
    )


def revoke_link(session: Session, *, actor: Staff, link_id: int) -> ClientLink:
    """Revoke a sign-off link (status_links' rules); a status link's id reads as missing here."""
    link = session.get(ClientLink, link_id)
    if link is None or link.version_id is None:
        raise NotFound("找不到该确认链接")
    return status_links.revoke_link(session, actor=actor, link_id=link_id)


def signoff_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/c/s/{token}"


def _send_invitation(
    session: Session, actor: Staff, deliverable: Deliverable, version: DeliverableVersion, url: str
) -> bool:
    """Queue `externalcontact/add_msg_template` for the actor to confirm, when the customer is
    reachable (an external contact or a bound customer group) and this month's cap allows."""
    order = deliverable.project.order
    customer: Customer = order.customer
    externals = [customer.external_userid] if customer.external_userid else []
    externals += [
        e
        for e in session.scalars(
            select(Contact.external_userid).where(
                Contact.customer_id == customer.id, Contact.external_userid.is_not(None)
            )
        )
        if e and e not in externals
    ]
    chats = list(
        session.scalars(
            select(ChatBinding.chat_id).where(
                ChatBinding.customer_id == customer.id,
                ChatBinding.kind == "customer_group",
                ChatBinding.active.is_(True),
            )
        )
    )
    if not externals and not chats:
        return False
    settings = clock.settings_of(session)
    today = clock.today(settings.tz)
    used = session.scalar(
        select(func.count(OutboxMessage.id)).where(
            OutboxMessage.channel == "external_template",
            OutboxMessage.idempotency_key.like(f"%:c{customer.id}"),
            OutboxMessage.created_at >= local_midnight_utc(today.replace(day=1), settings.tz),
        )
    )
    if int(used or 0) >= MoneyConfig.from_settings(settings).client_cap:
        return False
    text = messages.signoff_invitation(customer.name, deliverable.name, version.label, url)
    body: dict[str, object] = {"sender": actor.userid, "text": {"content": text}}
    if chats:
        body.update({"chat_type": "group", "chat_id_list": chats})
    else:
        body.update({"chat_type": "single", "external_userid": externals})
    outbox.add(
        session,
        key=f"client-signoff:{version.id}:{actor.id}:c{customer.id}",
        channel="external_template",
        recipient=actor.userid,
        payload=dict(body),
        order_id=order.id,
    )
    return True


# -- the client's side ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SignoffPage:
    """What the client's page shows: no amounts, no internal notes."""

    link_id: int
    version_id: int
    customer: str
    project: str
    number: str
    deliverable: str
    label: str
    file_name: str
    file_size: int
    note: str | None
    uploaded_at: datetime
    current: bool
    current_label: str | None
    status: str | None
    comment: str | None
    form_token: str


def form_token(secret: str, link_id: int, version_id: int) -> str:
    message = f"signoff-form:{link_id}:{version_id}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Access:
    link: ClientLink
    version: DeliverableVersion


def by_signoff_token(session: Session, *, token: str, secret: str) -> Access:
    link = status_links.live_link(session, token=token, secret=secret, signoff=True)
    version = session.get(DeliverableVersion, link.version_id)
    if version is None:
        raise NotFound(status_links.LINK_NOT_FOUND)
    return Access(link=link, version=version)


def by_status_token(session: Session, *, token: str, secret: str, version_id: int) -> Access:
    """From the status page: a version of this order with a live sign-off link, else not found."""
    link = status_links.live_link(session, token=token, secret=secret, signoff=False)
    version = session.get(DeliverableVersion, version_id)
    if version is None or version.deliverable.project.order_id != link.order_id:
        raise NotFound(status_links.LINK_NOT_FOUND)
    live = session.scalar(
        select(ClientLink.id).where(ClientLink.version_id == version.id, _live(clock.now()))
    )
    if live is None:
        raise NotFound(status_links.LINK_NOT_FOUND)
    return Access(link=link, version=version)


def page_of(
    session: Session,
    access: Access,
    *,
    secret: str,
    ip: str | None,
    user_agent: str | None,
    log: bool = True,
) -> SignoffPage:
    version, link = access.version, access.link
    deliverable = version.deliverable
    order = deliverable.project.order
    if log:
        body = f"客户查看了交付物确认页 {deliverable.name} {version.label}(链接 #{link.id})"
        status_links.count_view(session, link, body=body, ip=ip, user_agent=user_agent)
    now_current = deliverables.current_version(deliverable)
    return SignoffPage(
        link_id=link.id,
        version_id=version.id,
        customer=order.customer.name,
        project=deliverable.project.name,
        number=order.number,
        deliverable=deliverable.name,
        label=version.label,
        file_name=version.attachment.name,
        file_size=version.attachment.size,
        note=version.note,
        uploaded_at=version.uploaded_at,
        current=version.superseded_at is None,
        current_label=now_current.label if now_current else None,
        status=version.signoff_status,
        comment=version.signoff_comment,
        form_token=form_token(secret, link.id, version.id),
    )


def decide(
    session: Session,
    access: Access,
    *,
    secret: str,
    token: str,
    decision: str,
    comment: str | None,
    ip: str | None,
    user_agent: str | None,
) -> DeliverableVersion:
    """The client's answer: confirmed, or changes asked for (a comment required)."""
    expected = form_token(secret, access.link.id, access.version.id)
    if not hmac.compare_digest(expected, token or ""):
        raise PermissionDenied("页面已失效,请刷新后重试")
    status = DECISIONS.get(decision or "")
    if status is None:
        raise ValidationFailed("请选择确认或要求修改", fields={"decision": "approve/changes"})
    # Two answers at once (two tabs, a double click): one wins, the other sees it decided.
    version = lock_row(session, DeliverableVersion, access.version.id)
    assert version is not None
    if version.superseded_at is not None:
        raise Conflict(SUPERSEDED)
    if version.signoff_status in ("approved", "changes"):
        raise AlreadyDecided("该版本已有确认结果")
    text = (comment or "").strip()
    if len(text) > COMMENT_MAX:
        raise ValidationFailed(f"意见最多 {COMMENT_MAX} 字", fields={"comment": "过长"})
    if status == "changes" and not text:
        raise ValidationFailed("请写明需要修改的地方", fields={"comment": "必填"})
    _record(session, version, status, text or None, ip=ip, user_agent=user_agent)
    return version


def _record(
    session: Session,
    version: DeliverableVersion,
    status: str,
    comment: str | None,
    *,
    ip: str | None,
    user_agent: str | None,
) -> None:
    version.signoff_status = status
    version.signoff_at = clock.now()
    version.signoff_comment = comment
    deliverable = version.deliverable
    deliverable.status = "accepted" if status == "approved" else "rejected"
    timeline.record(
        session,
        kind="signoff",
        actor=None,
        body=messages.signoff_result(deliverable, version),
        project=deliverable.project,
        data={"version_id": version.id, "deliverable_id": deliverable.id, "result": status},
        ip=ip,
        user_agent=user_agent,
    )
    messages.notify_signoff(session, deliverable, version)


# -- the status page's section ------------------------------------------------------------------


@dataclass(frozen=True)
class Awaiting:
    version_id: int
    deliverable: str
    label: str
    uploaded_at: datetime
    has_link: bool


def awaiting(session: Session, *, order_number: str) -> list[Awaiting]:
    """Current versions of the order's deliverables that wait for the client's sign-off; the
    status page links to the sign-off page only where a live sign-off link exists."""
    live = exists().where(ClientLink.version_id == DeliverableVersion.id, _live(clock.now()))
    rows = session.execute(
        select(
            DeliverableVersion.id,
            Deliverable.name,
            DeliverableVersion.number,
            DeliverableVersion.uploaded_at,
            live,
        )
        .join(Deliverable, DeliverableVersion.deliverable_id == Deliverable.id)
        .join(Project, Deliverable.project_id == Project.id)
        .join(Order, Project.order_id == Order.id)
        .where(
            Order.number == order_number,
            DeliverableVersion.superseded_at.is_(None),
            DeliverableVersion.signoff_status == "requested",
        )
        .order_by(Deliverable.id)
    ).tuples()
    return [Awaiting(vid, name, f"v{num}", at, bool(has)) for vid, name, num, at, has in rows]
