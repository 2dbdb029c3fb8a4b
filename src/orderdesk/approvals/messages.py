"""Outbox messages and cards for approvals and order events, composed with `wecom.cards`.

Every message here is an idempotent outbox row in the caller's transaction; its key says what
it is about, so running a step twice never sends twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.core.formatting import money
from orderdesk.models import (
    ApprovalAssignment,
    ApprovalRequest,
    ChangeRequest,
    Order,
    OutboxMessage,
    Project,
    Staff,
)
from orderdesk.wecom import cards, outbox

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from orderdesk.settings import Settings

# replace_name has no documented byte limit of its own; the spec'd "已同意 · 张三 · 10:32" is
# 31 bytes, just over the 30-byte button-text budget, so allow up to 20 CJK characters.
REPLACE_NAME_MAX = 60
DECISION_ZH = {"approve": "已同意", "reject": "已驳回", "withdraw": "已撤回"}


def hhmm(at: datetime, tz: ZoneInfo) -> str:
    """A time as people in the company read it."""
    return at.astimezone(tz).strftime("%H:%M")


def recipients(people: Iterable[Staff | None]) -> str:
    """ "uid1|uid2" with duplicates and inactive staff removed, in a stable order."""
    seen: list[str] = []
    for person in people:
        if person is not None and person.active and person.userid not in seen:
            seen.append(person.userid)
    return "|".join(seen)


def order_fields(order: Order) -> list[tuple[str, str]]:
    return [
        ("客户", order.customer.name),
        ("类型", order.order_type.name),
        ("金额", f"{money(order.amount)}"),
        ("负责人", order.owner.name),
    ]


def approval_card_body(
    settings: Settings, order: Order, request: ApprovalRequest, assignment: ApprovalAssignment
) -> dict[str, Any]:
    """The approval template_card (the 待审批 command re-sends it with its own task id)."""
    step = request.steps_snapshot[assignment.step_sequence - 1]
    total = len(request.steps_snapshot)
    title, desc, fields = f"订单审批 {order.number}", order.title or None, order_fields(order)
    if request.kind == "change" and request.change_request is not None:
        title, desc, fields = _change_heading(order, request.change_request)
    elif order.discount_rate:
        fields.append(("折扣", f"{order.discount_rate * 100:.1f}%"))
    fields.append(("审批步骤", f"{assignment.step_sequence}/{total} {step['name']}"))
    detail = cards.approval_jump(settings, request.id)
    return cards.button_interaction(
        task_id=assignment.card_task_id or f"appr-{assignment.id}",
        title=title,
        desc=desc,
        fields=fields,
        action=detail,
        jumps=[("详情", detail)],
        buttons=[
            cards.Button("同意", f"approve:{request.id}", cards.STYLE_PRIMARY),
            cards.Button("驳回", f"reject:{request.id}", cards.STYLE_DANGER),
        ],
    )


def _change_heading(
    order: Order, change: ChangeRequest
) -> tuple[str, str | None, list[tuple[str, str]]]:
    """A change request's card: what changes, by how much, and the order after it."""
    delta = change.amount_delta
    sign = "+" if delta >= 0 else "-"
    days = change.schedule_days
    fields = [
        ("客户", order.customer.name),
        ("变更金额", f"{sign}{money(abs(delta))}"),
        ("变更后金额", money(order.amount + delta)),
        ("工期", "不变" if days == 0 else (f"延期{days}天" if days > 0 else f"提前{-days}天")),
    ]
    return f"变更审批 {change.number}", (change.scope or None), fields


def approval_card(
    session: Session,
    order: Order,
    request: ApprovalRequest,
    assignment: ApprovalAssignment,
    *,
    substitutes: Iterable[Staff] = (),
) -> OutboxMessage:
    """The 同意 / 驳回 card for one approver, and for whoever substitutes for them today
    (详情 opens the mini-app approval page)."""
    assignment.card_task_id = f"appr-{assignment.id}"
    return outbox.add(
        session,
        key=f"approval-card:{assignment.id}",
        channel="app_message",
        recipient=recipients([assignment.approver, *substitutes]),
        payload=cards.app_template_card(
            approval_card_body(clock.settings_of(session), order, request, assignment)
        ),
        order_id=order.id,
    )


def replace_name(decision: str, actor: Staff, at: datetime, tz: ZoneInfo) -> str:
    """The text a decided card's button turns into: "已同意 · 张三 · 10:32"."""
    return f"{DECISION_ZH.get(decision, decision)} · {actor.name} · {hhmm(at, tz)}"


def card_update(
    session: Session, assignment: ApprovalAssignment, *, text: str, order_id: int
) -> OutboxMessage | None:
    """Grey out an approver's card (message/update_template_card, button.replace_name).

    Uses the response_code delivery stored for the card; when the card is still on its way,
    the update names the card's outbox key (`response_code_from`) and delivery resolves it.
    A card that was never queued or is dead has nothing to update."""
    card_key = f"approval-card:{assignment.id}"
    sent = session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == card_key))
    code = assignment.response_code or (sent.response_code if sent is not None else None)
    # everyone the card went to (the approver and a substitute) sees it greyed out
    userids = sent.recipient.split("|") if sent is not None else [assignment.approver.userid]
    payload: dict[str, Any] = {
        "userids": userids,
        "button": {"replace_name": cards.truncate_bytes(text, REPLACE_NAME_MAX)},
    }
    if code:
        payload["response_code"] = code
    elif sent is not None and sent.status not in ("dead", "sent"):
        payload["response_code_from"] = card_key
    else:
        return None
    return outbox.add(
        session,
        key=f"approval-card-update:{assignment.id}",
        channel="card_update",
        recipient="|".join(userids),
        payload=payload,
        order_id=order_id,
    )


def app_text(
    session: Session, *, key: str, to: Iterable[Staff | None], text: str, order_id: int | None
) -> OutboxMessage | None:
    recipient = recipients(to)
    if not recipient:
        return None
    return outbox.add(
        session,
        key=key,
        channel="app_message",
        recipient=recipient,
        payload=cards.app_text(text),
        order_id=order_id,
    )


def approval_reminders(
    session: Session,
    waiting: Sequence[ApprovalAssignment],
    *,
    now: datetime | None = None,
    substitutes: Iterable[Staff] = (),
) -> OutboxMessage | None:
    """ONE nudge to an approver (and whoever substitutes for them today) listing every step
    that waits for them, newest first."""
    if not waiting:
        return None
    at = now or clock.now()
    items = sorted(waiting, key=lambda a: a.request.step_started_at, reverse=True)
    if len(items) == 1:
        request = items[0].request
        order = request.order
        text = (
            f"【审批提醒】{_subject(request)}({order.customer.name},{money(order.amount)})"
            f"已等待您审批 {_hours(at, request)} 小时,请尽快处理。"
        )
    else:
        lines = [f"【审批提醒】有 {len(items)} 个订单等待您审批:"]
        for a in items:
            order = a.request.order
            lines.append(
                f"· {_subject(a.request, bare=True)} {order.customer.name} {money(order.amount)},"
                f"已等 {_hours(at, a.request)} 小时"
            )
        lines.append("发送「待审批」查看列表并逐条处理。")
        text = "\n".join(lines)
    return app_text(
        session,
        key=_batch_key("approval-remind", items),
        to=[items[0].approver, *substitutes],
        text=text,
        order_id=items[0].request.order_id if len(items) == 1 else None,
    )


def escalation_notices(
    session: Session, manager: Staff, late: Sequence[ApprovalAssignment]
) -> OutboxMessage | None:
    """ONE notice to a manager listing every approval escalated to them in this sweep."""
    if not late:
        return None
    if len(late) == 1:
        text = (
            f"【审批升级】{_subject(late[0].request)} 等待 {late[0].approver.name} 审批已超时,"
            "已升级给您,请在审批卡片中处理。"
        )
    else:
        lines = [f"【审批升级】{len(late)} 个订单的审批已超时,已升级给您:"]
        lines += [f"· {_subject(a.request, bare=True)}(原审批人 {a.approver.name})" for a in late]
        lines.append("发送「待审批」查看列表并逐条处理。")
        text = "\n".join(lines)
    return app_text(
        session,
        key=_batch_key("approval-escalate", late),
        to=[manager],
        text=text,
        order_id=late[0].request.order_id if len(late) == 1 else None,
    )


def _subject(request: ApprovalRequest, *, bare: bool = False) -> str:
    """ "订单 SO-…" or, for a change request, "变更单 SO-…-C1" (`bare`: the number alone)."""
    change = request.change_request
    if request.kind == "change" and change is not None:
        return change.number if bare else f"变更单 {change.number}"
    return request.order.number if bare else f"订单 {request.order.number}"


def _hours(at: datetime, request: ApprovalRequest) -> int:
    return int((at - request.step_started_at).total_seconds() // 3600)


def _batch_key(prefix: str, items: Sequence[ApprovalAssignment]) -> str:
    """One assignment keeps its historical key; a batch is keyed by all of its assignments."""
    ids = sorted(a.id for a in items)
    if len(ids) == 1:
        return f"{prefix}:{ids[0]}"
    digest = hashlib.sha1(",".join(map(str, ids)).encode(), usedforsecurity=False).hexdigest()
    return f"{prefix}:batch:{digest[:20]}"


def project_chat_id(project: Project) -> str:
    """appchat chatid: [0-9a-zA-Z] only, at most 32 characters, stable per project code."""
    clean = "".join(ch for ch in project.code if ch.isascii() and ch.isalnum()).lower()
    return clean[:32] or f"prj{project.id}"


def order_summary(order: Order, project: Project) -> str:
    lines = [
        f"欢迎加入项目群「{project.name}」",
        f"订单:{order.number} {order.title}".rstrip(),
        f"客户:{order.customer.name}",
        f"类型:{order.order_type.name}",
        f"项目编号:{project.code}",
        f"项目经理:{project.pm.name if project.pm else '待定'}",
        f"销售:{order.owner.name}",
    ]
    nxt = next((m for m in project.milestones if m.due_date is not None), None)
    if nxt is not None:
        lines.append(f"首个里程碑:{nxt.name}({nxt.due_date})")
    lines.append(f"任务:{len(project.tasks)} 项,请在 OrderDesk 中查看与更新进度。")
    return "\n".join(lines)
