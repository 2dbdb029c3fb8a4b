"""Outbox notifications about an order to the people concerned: its owner and, once a project
exists, the project's PM. The actor is not told about their own change.

Keys carry the order version, so a retried transaction never sends twice while every real
change (which bumps the version) does send.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from orderdesk.models import Activity, Order, Staff
from orderdesk.models.order import ORDER_STATUS_ZH
from orderdesk.orders.bindings import push_progress
from orderdesk.orders.common import flush_or_conflict
from orderdesk.wecom import cards, outbox


def concerned(order: Order, *, exclude: Staff | None = None) -> list[str]:
    """Userids to notify about `order` (owner, PM), stable order, without the actor."""
    people: list[Staff] = []
    if order.owner is not None:
        people.append(order.owner)
    project = order.project
    if project is not None and project.pm is not None:
        people.append(project.pm)
    seen: list[str] = []
    for person in people:
        if not person.active or (exclude is not None and person.id == exclude.id):
            continue
        if person.userid not in seen:
            seen.append(person.userid)
    return seen


def _send(
    session: Session, order: Order, *, key_prefix: str, text: str, userids: list[str]
) -> None:
    for userid in userids:
        outbox.add(
            session,
            key=f"{key_prefix}:{userid}",
            channel="app_message",
            recipient=userid,
            payload=cards.app_text(text),
            order_id=order.id,
        )


def notify_status(session: Session, order: Order, *, before: str, actor: Staff | None) -> None:
    flush_or_conflict(session, order)  # the key needs the new version
    who = actor.name if actor else "系统"
    text = (
        f"订单 {order.number}「{order.title}」状态变更:"
        f"{ORDER_STATUS_ZH.get(before, before)} → {order.status_zh}(操作人:{who})"
    )
    if order.status_reason:
        text += f"\n原因:{order.status_reason}"
    _send(
        session,
        order,
        key_prefix=f"order-status:{order.id}:{order.version}",
        text=text,
        userids=concerned(order, exclude=actor),
    )


def notify_created(session: Session, order: Order, *, actor: Staff) -> None:
    """Tell the owner when someone else (a manager) opened an order in their name."""
    text = (
        f"{actor.name} 为您创建了订单 {order.number}「{order.title}」,"
        f"金额 {order.amount} {order.currency},当前为草稿"
    )
    _send(
        session,
        order,
        key_prefix=f"order-created:{order.id}",
        text=text,
        userids=concerned(order, exclude=actor),
    )


def notify_update(session: Session, order: Order, *, actor: Staff, summary: str) -> None:
    flush_or_conflict(session, order)
    text = f"订单 {order.number}「{order.title}」已被 {actor.name} 修改:{summary}"
    _send(
        session,
        order,
        key_prefix=f"order-update:{order.id}:{order.version}",
        text=text,
        userids=concerned(order, exclude=actor),
    )


def notify_progress(session: Session, order: Order, activity: Activity, *, actor: Staff) -> None:
    session.flush()
    files = f"(附件 {len(activity.attachments)} 个)" if activity.attachments else ""
    text = f"订单 {order.number} 新进展({actor.name}):{activity.body}{files}"
    _send(
        session,
        order,
        key_prefix=f"order-progress:{activity.id}",
        text=text,
        userids=concerned(order, exclude=actor),
    )
    # The bound project/customer groups hear about it too; the count goes on the timeline.
    pushed = push_progress(session, activity)
    activity.data = {**activity.data, "pushed_groups": pushed}
