"""Digests: one morning message per person and per bound group, one weekly note per project group.

Built for volume: one query fetches every open item, grouping happens in memory, and the
outbox rows are written in one batch after one look-up of the keys that already exist. The
number of messages equals the number of recipients, never the number of installments.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.core.formatting import money
from orderdesk.core.workdays import is_working_day
from orderdesk.models import (
    ChatBinding,
    Customer,
    Installment,
    Milestone,
    Order,
    OutboxMessage,
    PaymentPlan,
    Project,
    Staff,
    Task,
    TimeEntry,
)
from orderdesk.money.collections import OPEN_STATUSES
from orderdesk.money.schedule import MoneyConfig, next_send_time
from orderdesk.wecom import cards
from orderdesk.wecom.group_targets import push_target, pushable

if TYPE_CHECKING:
    from orderdesk.settings import Settings

PUSH_KINDS = ("appchat", "webhook")  # group kinds we can push into without a user message
DIGEST_LINES = 12


@dataclass(frozen=True)
class OpenItem:
    installment_id: int
    name: str
    due_date: date
    outstanding: Decimal
    order_id: int
    order_number: str
    customer_id: int
    customer_name: str
    owner_id: int
    owner_userid: str
    owner_name: str
    owner_manager_id: int | None
    owner_active: bool = True


@dataclass
class DigestStats:
    items: int = 0
    people: int = 0
    groups: int = 0
    messages: int = 0
    skipped: str | None = None
    keys: list[str] = field(default_factory=list)


def open_items(session: Session, *, until: date) -> list[OpenItem]:
    """Every installment with a balance due on or before `until`, oldest first (one query)."""
    rows = session.execute(
        select(
            Installment.id,
            Installment.name,
            Installment.due_date,
            Installment.amount,
            Installment.paid_amount,
            Order.id,
            Order.number,
            Customer.id,
            Customer.name,
            Staff.id,
            Staff.userid,
            Staff.name,
            Staff.manager_id,
            Staff.active,
        )
        .join(PaymentPlan, Installment.plan_id == PaymentPlan.id)
        .join(Order, Order.id == PaymentPlan.order_id)
        .join(Customer, Customer.id == Order.customer_id)
        .join(Staff, Staff.id == Order.owner_id)
        .where(
            Installment.status.in_(OPEN_STATUSES),
            Installment.due_date <= until,
            Installment.amount > Installment.paid_amount,
        )
        .order_by(Installment.due_date, Installment.id)
    ).all()
    return [
        OpenItem(
            r[0], r[1], r[2], r[3] - r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13]
        )
        for r in rows
    ]


def queue_batch(
    session: Session, messages: Iterable[dict[str, Any]], *, not_before: datetime
) -> list[str]:
    """Add many outbox rows at once; keys that already exist are skipped (fire once, ever).

    The batch twin of `wecom.outbox.add` (same row, same idempotency), with one look-up for all
    keys instead of one per message.
    """
    wanted = {m["key"][:200]: m for m in messages}
    existing: set[str] = set()
    keys = list(wanted)
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        existing.update(
            session.scalars(
                select(OutboxMessage.idempotency_key).where(
                    OutboxMessage.idempotency_key.in_(chunk)
                )
            )
        )
    fresh = [k for k in keys if k not in existing]
    if not fresh:
        return []
    created = clock.now()
    rows = [
        {
            "idempotency_key": k,
            "channel": wanted[k]["channel"],
            "recipient": wanted[k]["recipient"],
            "payload": wanted[k]["payload"],
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": not_before,
            "order_id": wanted[k].get("order_id"),
            "created_at": created,
        }
        for k in fresh
    ]
    # executemany: psycopg 3 pipelines the rows (no round trip per row).
    session.execute(insert(OutboxMessage), rows)
    session.info["outbox_dirty"] = True
    return fresh


def group_target(binding: ChatBinding) -> tuple[str, str]:
    """(channel, recipient) of a binding selected with `pushable()` (a bot group's robot, or
    the group's own appchat / webhook)."""
    target = push_target(binding)
    if target is None:  # pragma: no cover - the queries select pushable bindings only
        raise ValueError(f"binding {binding.id} cannot receive pushes")
    return target


def group_payload(channel: str, text: str) -> tuple[str, dict[str, Any]]:
    """The markdown body for a group push on `channel` (webhook, else appchat)."""
    if channel == "webhook":
        return "webhook", cards.webhook_markdown(text)
    return "appchat", cards.app_markdown(text)


def _item_line(item: OpenItem, today: date, *, owner: bool = False, figures: bool = True) -> str:
    days = (today - item.due_date).days
    when = f"逾期 {days} 天" if days > 0 else ("今天到期" if days == 0 else f"{-days} 天后到期")
    who = f" · {item.owner_name}" if owner else ""
    figure = f" {money(item.outstanding)}" if figures else ""
    return f"- {item.order_number} {item.customer_name} {item.name}{figure}({when}){who}"


def digest_text(
    title: str, items: list[OpenItem], today: date, *, owner: bool = False, figures: bool = True
) -> str:
    """The digest; `figures=False` for a group (read by people who may not see amounts)."""
    overdue = [i for i in items if i.due_date < today]
    soon = [i for i in items if i.due_date >= today]
    total_over = sum((i.outstanding for i in overdue), Decimal("0.00"))
    total_soon = sum((i.outstanding for i in soon), Decimal("0.00"))
    over, due = (f" {money(total_over)}", f" {money(total_soon)}") if figures else ("", "")
    lines = [
        f"**{title}**",
        f"逾期 {len(overdue)} 项{over};7 天内到期 {len(soon)} 项{due}",
    ]
    ordered = sorted(overdue, key=lambda i: (i.due_date, i.installment_id)) + soon
    lines += [_item_line(i, today, owner=owner, figures=figures) for i in ordered[:DIGEST_LINES]]
    if len(ordered) > DIGEST_LINES:
        lines.append(f"…另有 {len(ordered) - DIGEST_LINES} 项,请在 OrderDesk 中查看")
    return "\n".join(lines)


def _group_targets(session: Session) -> tuple[dict[int, ChatBinding], dict[str, list[int]]]:
    """Bound internal groups, and which orders/customers each one follows."""
    bindings = session.scalars(
        select(ChatBinding).where(
            ChatBinding.active.is_(True),
            ChatBinding.audience == "internal",
            pushable(),
        )
    ).all()
    by_id = {b.id: b for b in bindings}
    follow: dict[str, list[int]] = defaultdict(list)
    project_ids = {b.project_id for b in bindings if b.project_id and not b.order_id}
    project_order = dict(
        session.execute(select(Project.id, Project.order_id).where(Project.id.in_(project_ids)))
        .tuples()
        .all()
    )
    for b in bindings:
        order_id = b.order_id or (project_order.get(b.project_id) if b.project_id else None)
        if order_id is not None:
            follow[f"o{order_id}"].append(b.id)
        elif b.customer_id is not None:
            follow[f"c{b.customer_id}"].append(b.id)
    return by_id, follow


def morning_digest(
    session: Session,
    *,
    settings: Settings,
    today: date,
    now: datetime,
    sections: Mapping[str, str] | None = None,
) -> DigestStats:
    """One message per owner listing all their overdue and soon-due items; one per group.

    `sections`: more parts of the same personal message, by userid (the open tickets of each
    assignee, built above this layer); a person with a section but no money items still gets
    their one message."""
    stats = DigestStats()
    if not is_working_day(today, settings):
        stats.skipped = "非工作日"
        return stats
    cfg = MoneyConfig.from_settings(settings)
    horizon = today + timedelta(days=max(cfg.due_soon_days, default=7))
    items = open_items(session, until=horizon)
    stats.items = len(items)
    per_owner: dict[str, list[OpenItem]] = defaultdict(list)
    per_group: dict[int, list[OpenItem]] = defaultdict(list)
    by_id, follow = _group_targets(session)
    for item in items:
        if item.owner_active:  # a departed owner's items still reach the groups
            per_owner[item.owner_userid].append(item)
        targets = set(follow.get(f"o{item.order_id}", ())) | set(
            follow.get(f"c{item.customer_id}", ())
        )
        for bid in targets:
            per_group[bid].append(item)
    messages: list[dict[str, Any]] = []
    day = today.isoformat()
    extra = dict(sections or {})
    for userid in [*per_owner, *(u for u in extra if u not in per_owner)]:
        mine = per_owner.get(userid, [])
        parts = [digest_text(f"早安,今日回款提醒({day})", mine, today)] if mine else []
        parts += [extra[userid]] if userid in extra else []
        if not mine:
            parts.insert(0, f"**早安,今日待办({day})**")
        text = "\n\n".join(parts)
        messages.append(
            {
                "key": f"digest:{userid}:{day}",
                "channel": "app_message",
                "recipient": userid,
                "payload": cards.app_markdown(text),
            }
        )
    for bid, theirs in per_group.items():
        channel, recipient = group_target(by_id[bid])
        channel, payload = group_payload(
            channel, digest_text(f"回款提醒({day})", theirs, today, owner=True, figures=False)
        )
        messages.append(
            {
                "key": f"digest-group:{bid}:{day}",
                "channel": channel,
                "recipient": recipient,
                "payload": payload,
            }
        )
    stats.people, stats.groups = len(set(per_owner) | set(extra)), len(per_group)
    stats.keys = queue_batch(session, messages, not_before=next_send_time(now, settings))
    stats.messages = len(stats.keys)
    return stats


def weekly_project_digest(
    session: Session, *, settings: Settings, today: date, now: datetime
) -> DigestStats:
    """Each project group gets its week: milestones done and next, overdue tasks, hours."""
    stats = DigestStats()
    bindings = session.scalars(
        select(ChatBinding).where(
            ChatBinding.active.is_(True),
            ChatBinding.audience == "internal",
            pushable(),
            ChatBinding.project_id.is_not(None),
        )
    ).all()
    iso = today.isocalendar()
    week = f"{iso.year}-W{iso.week:02d}"
    since = today - timedelta(days=7)
    messages: list[dict[str, Any]] = []
    for binding in bindings:
        project = session.get(Project, binding.project_id)
        if project is None or project.status not in ("active", "in_progress"):
            continue
        messages.append(_weekly_message(session, binding, project, today, since, week))
    stats.groups = len(messages)
    stats.keys = queue_batch(session, messages, not_before=next_send_time(now, settings))
    stats.messages = len(stats.keys)
    return stats


def _weekly_message(
    session: Session,
    binding: ChatBinding,
    project: Project,
    today: date,
    since: date,
    week: str,
) -> dict[str, Any]:
    milestones: list[Milestone] = list(project.milestones)
    done = [m for m in milestones if m.status == "accepted"]
    upcoming = [m for m in milestones if m.status != "accepted"]
    overdue_tasks = [
        t
        for t in session.scalars(select(Task).where(Task.project_id == project.id))
        if t.status != "done" and t.due_date is not None and t.due_date < today
    ]
    week_hours = session.scalar(
        select(func.coalesce(func.sum(TimeEntry.hours), 0)).where(
            TimeEntry.project_id == project.id, TimeEntry.work_date > since
        )
    )
    total_hours = session.scalar(
        select(func.coalesce(func.sum(TimeEntry.hours), 0)).where(
            TimeEntry.project_id == project.id
        )
    )
    lines = [
        f"**项目周报 {project.code} {project.name}({week})**",
        f"里程碑:已完成 {len(done)}/{len(milestones)}"
        + (f",下一个:{upcoming[0].name}" if upcoming else ""),
    ]
    if upcoming and upcoming[0].due_date:
        lines[-1] += f"(计划 {upcoming[0].due_date.isoformat()})"
    lines.append(f"逾期任务:{len(overdue_tasks)} 项")
    lines += [f"- {t.title}(应于 {t.due_date})" for t in overdue_tasks[:8]]
    lines.append(
        f"工时:本周 {Decimal(str(week_hours)):.1f} 小时,累计 {Decimal(str(total_hours)):.1f} 小时"
    )
    channel, recipient = group_target(binding)
    channel, payload = group_payload(channel, "\n".join(lines))
    return {
        "key": f"weekly:{binding.id}:{week}",
        "channel": channel,
        "recipient": recipient,
        "payload": payload,
        "order_id": project.order_id,
    }
