"""Per-installment pushes: due-soon cards, overdue dunning levels and client reminders.

Each (installment, level) is one outbox row whose idempotency key is the pair, so it is sent
once, ever, however often the scan runs. Paid installments drop out of the scan, and a receipt
kills their still-pending rows (`money.receipts.cancel_reminders`).

Dunning recipients grow with the level: owner; + finance; + the owner's manager; + gm.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orderdesk.core.formatting import money
from orderdesk.directory.staff import staff_with_role
from orderdesk.models import ChatBinding, Contact, Customer, Department, OutboxMessage, Staff
from orderdesk.money.digests import OpenItem, open_items, queue_batch
from orderdesk.money.schedule import MoneyConfig, local_midnight_utc, next_send_time
from orderdesk.wecom import cards

if TYPE_CHECKING:
    from orderdesk.settings import Settings

LEVEL_ZH = ("一级", "二级", "三级", "四级", "五级")


@dataclass
class ReminderStats:
    due_soon: int = 0
    dunning: int = 0
    client: int = 0
    keys: list[str] = field(default_factory=list)


def due_soon_level(days_until: int, thresholds: tuple[int, ...]) -> int | None:
    """The smallest threshold that `days_until` has reached (7 then 1 by default)."""
    reached = [t for t in thresholds if 0 <= days_until <= t]
    return min(reached) if reached else None


def dunning_level(days_over: int, levels: tuple[int, ...]) -> int | None:
    """The highest level reached; a late first scan sends only the current level."""
    reached = [lv for lv in levels if days_over >= lv]
    return max(reached) if reached else None


def _managers(session: Session, items: list[OpenItem]) -> dict[int, str]:
    """owner id -> manager userid (direct manager, else the department head)."""
    owner_ids = {i.owner_id for i in items}
    if not owner_ids:
        return {}
    out: dict[int, str] = {}
    owners = session.execute(
        select(Staff.id, Staff.manager_id, Department.head_userid)
        .outerjoin(Department, Department.id == Staff.department_id)
        .where(Staff.id.in_(owner_ids))
    ).all()
    manager_ids = {m for _, m, _ in owners if m}
    userids = dict(
        session.execute(
            select(Staff.id, Staff.userid).where(Staff.id.in_(manager_ids), Staff.active.is_(True))
        )
        .tuples()
        .all()
    )
    for owner_id, manager_id, head in owners:
        manager = userids.get(manager_id) if manager_id else None
        if manager or head:
            out[owner_id] = manager or head
    return out


def _join(userids: list[str | None]) -> str:
    seen: list[str] = []
    for u in userids:
        if u and u not in seen:
            seen.append(u)
    return "|".join(seen)


def scan_reminders(
    session: Session, *, settings: Settings, today: date, now: datetime
) -> ReminderStats:
    """Due-soon cards and dunning notices for every open installment (idempotent)."""
    cfg = MoneyConfig.from_settings(settings)
    horizon = today + timedelta(days=max(cfg.due_soon_days, default=0))
    items = open_items(session, until=horizon)
    finance = [s.userid for s in staff_with_role(session, "finance")]
    gms = [s.userid for s in staff_with_role(session, "gm")]
    managers = _managers(session, [i for i in items if i.due_date < today])
    messages: list[dict[str, Any]] = []
    stats = ReminderStats()
    for item in items:
        days = (item.due_date - today).days
        if days >= 0:
            level = due_soon_level(days, cfg.due_soon_days)
            if level is None or not item.owner_active:
                continue
            messages.append(_due_soon_message(item, level, days))
            continue
        level = dunning_level(-days, cfg.dunning_days)
        if level is None:
            continue
        rank = cfg.dunning_days.index(level)
        people: list[str | None] = [item.owner_userid if item.owner_active else None]
        if rank >= 1 or not item.owner_active:
            people += finance  # nobody owns it any more: finance hears from day one
        if rank >= 2:
            people.append(managers.get(item.owner_id))
        if rank >= 3:
            people += gms
        recipients = _join(people)
        if recipients:
            messages.append(_dunning_message(item, level, rank, -days, recipients))
    keys = queue_batch(session, messages, not_before=next_send_time(now, settings))
    stats.keys = keys
    stats.due_soon = sum(1 for k in keys if k.startswith("due-soon:"))
    stats.dunning = sum(1 for k in keys if k.startswith("dun:"))
    return stats


def _fields(item: OpenItem) -> list[tuple[str, str]]:
    return [
        ("客户", item.customer_name),
        ("款项", item.name),
        ("金额", f"{money(item.outstanding)}"),
        ("到期日", item.due_date.isoformat()),
    ]


def _due_soon_message(item: OpenItem, level: int, days: int) -> dict[str, Any]:
    when = "今天到期" if days == 0 else f"{days} 天后到期"
    card = cards.text_notice(
        task_id=f"due-{item.installment_id}-{level}",
        title=f"回款提醒:{item.order_number} {when}",
        desc="请提前与客户确认付款安排",
        fields=_fields(item),
        emphasis=(f"{money(item.outstanding)}", when),
    )
    return {
        "key": f"due-soon:{item.installment_id}:{level}",
        "channel": "app_message",
        "recipient": item.owner_userid,
        "payload": cards.app_template_card(card),
        "order_id": item.order_id,
    }


def _dunning_message(
    item: OpenItem, level: int, rank: int, days_over: int, recipients: str
) -> dict[str, Any]:
    name = LEVEL_ZH[min(rank, len(LEVEL_ZH) - 1)]
    card = cards.text_notice(
        task_id=f"dun-{item.installment_id}-{level}",
        title=f"逾期催收({name}):{item.order_number}",
        desc=f"已逾期 {days_over} 天,负责人 {item.owner_name}",
        fields=_fields(item),
        emphasis=(f"{money(item.outstanding)}", f"逾期 {days_over} 天"),
    )
    return {
        "key": f"dun:{item.installment_id}:{level}",
        "channel": "app_message",
        "recipient": recipients,
        "payload": cards.app_template_card(card),
        "order_id": item.order_id,
    }


def client_text(item: OpenItem, today: date) -> str:
    """Client-safe: amount, date and order reference only; nothing internal."""
    if item.due_date < today:
        when = f"已于 {item.due_date:%Y年%m月%d日} 到期"
    else:
        when = f"将于 {item.due_date:%Y年%m月%d日} 到期"
    return (
        f"尊敬的客户您好:贵司订单 {item.order_number} 的{item.name} {money(item.outstanding)}"
        f"{when},烦请安排付款。如已付款请忽略本消息,谢谢!"
    )


def client_reminders(
    session: Session, *, settings: Settings, today: date, now: datetime
) -> ReminderStats:
    """add_msg_template tasks for the owner to confirm, within the monthly per-customer cap."""
    cfg = MoneyConfig.from_settings(settings)
    items = open_items(session, until=today + timedelta(days=cfg.client_days))
    stats = ReminderStats()
    if not items:
        return stats
    customer_ids = {i.customer_id for i in items}
    externals: dict[int, list[str]] = defaultdict(list)
    for cid, ext in session.execute(
        select(Customer.id, Customer.external_userid).where(
            Customer.id.in_(customer_ids), Customer.external_userid.is_not(None)
        )
    ).tuples():
        if ext:
            externals[cid].append(ext)
    for cid, ext in session.execute(
        select(Contact.customer_id, Contact.external_userid).where(
            Contact.customer_id.in_(customer_ids), Contact.external_userid.is_not(None)
        )
    ).tuples():
        if ext and ext not in externals[cid]:
            externals[cid].append(ext)
    groups: dict[int, list[str]] = defaultdict(list)
    for gcid, chat in session.execute(
        select(ChatBinding.customer_id, ChatBinding.chat_id).where(
            ChatBinding.customer_id.in_(customer_ids),
            ChatBinding.kind == "customer_group",
            ChatBinding.active.is_(True),
        )
    ).tuples():
        if gcid is not None:
            groups[gcid].append(chat)
    window_start = month_start(today, settings)
    messages: list[dict[str, Any]] = []
    for cid in sorted(customer_ids):
        if not externals.get(cid) and not groups.get(cid):
            continue
        used = session.scalar(
            select(func.count(OutboxMessage.id)).where(
                OutboxMessage.channel == "external_template",
                OutboxMessage.idempotency_key.like(f"client-remind:%:c{cid}"),
                OutboxMessage.created_at >= window_start,
            )
        )
        room = cfg.client_cap - int(used or 0)
        for item in [i for i in items if i.customer_id == cid]:
            if room <= 0:
                break
            if not item.owner_active:
                continue  # the task must be confirmed by a colleague who is still here
            kind = "overdue" if item.due_date < today else "due"
            key = f"client-remind:{item.installment_id}:{kind}:c{cid}"
            if session.scalar(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)):
                continue
            messages.append(_client_message(item, key, today, externals[cid], groups[cid]))
            room -= 1
    keys = queue_batch(session, messages, not_before=next_send_time(now, settings))
    stats.client, stats.keys = len(keys), keys
    return stats


def _client_message(
    item: OpenItem, key: str, today: date, externals: list[str], chats: list[str]
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sender": item.owner_userid,
        "text": {"content": client_text(item, today)},
    }
    if chats:
        body.update({"chat_type": "group", "chat_id_list": chats})
    else:
        body.update({"chat_type": "single", "external_userid": externals})
    return {
        "key": key,
        "channel": "external_template",
        "recipient": item.owner_userid,
        "payload": body,
        "order_id": item.order_id,
    }


def month_start(today: date, settings: Settings) -> datetime:
    """Midnight (company time zone) on the first of this month: the cap's window."""
    return local_midnight_utc(today.replace(day=1), settings.tz)
