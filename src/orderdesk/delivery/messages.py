"""The texts of delivery and client service: chat replies and timeline lines (Chinese first)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.orders.bindings import bound_groups
from orderdesk.orders.messages import concerned
from orderdesk.wecom import cards, outbox
from orderdesk.wecom.group_targets import push_target

if TYPE_CHECKING:
    from orderdesk.models import ClientLink, Deliverable, DeliverableVersion, Project, Staff

MILESTONE_STATUS_ZH = {"pending": "进行中", "accepted": "已验收", "done": "已完成"}
DELIVERABLE_STATUS_ZH = {
    "pending": "准备中",
    "delivered": "已交付",
    "accepted": "已确认",
    "rejected": "需修改",
}


def _expiry(link: ClientLink, tz: ZoneInfo) -> str:
    return link.expires_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def link_created(actor: Staff, link: ClientLink, tz: ZoneInfo) -> str:
    return f"{actor.name} 生成了客户进度链接 #{link.id},有效期至 {_expiry(link, tz)}"


def link_reply(number: str, url: str, link: ClientLink, tz: ZoneInfo) -> str:
    """The chat reply: the link itself is shown only here, once."""
    return (
        f"订单 {number} 的客户进度链接(#{link.id},有效期至 {_expiry(link, tz)}):\n{url}\n"
        "客户无需登录即可查看里程碑与交付物,不含金额;每次打开都会记入时间线。"
        f"如需作废:撤销进度链接 {link.id}"
    )


def link_revoked_reply(link: ClientLink) -> str:
    return f"已撤销客户进度链接 #{link.id},该链接将无法再打开"


# -- deliverable versions and the client's sign-off --------------------------------------------

SIGNOFF_ZH = {"requested": "待客户确认", "approved": "客户已确认", "changes": "客户要求修改"}


def version_uploaded(
    name: str, version: DeliverableVersion, previous: DeliverableVersion | None
) -> str:
    """「设计稿 v3 已上传,取代 v2」: the timeline line and the card's title."""
    instead = f",取代 {previous.label}" if previous is not None else ""
    return f"{name} {version.label} 已上传{instead}"


def _card(
    session: Session, *, task: str, title: str, rows: list[tuple[str, str]], did: int
) -> dict[str, Any]:
    action = cards.link_target(clock.settings_of(session), "deliverable", did)
    return cards.text_notice(task_id=task, title=title, fields=rows, action=action)


def _push(
    session: Session,
    deliverable: Deliverable,
    *,
    key: str,
    card: dict[str, Any],
    exclude: Staff | None,
) -> int:
    """The card to the project's internal groups that can receive a push (an app group chat, a
    group robot, or a bot group with its robot registered: `wecom.group_targets`); with no such
    group, to the owner and PM. appchat cannot carry a template card, so it gets a textcard."""
    order = deliverable.project.order
    settings = clock.settings_of(session)
    url = cards.h5_url(settings, "deliverable", deliverable.id)
    title = card["main_title"]["title"]
    desc = "\n".join(
        f"{r['keyname']}:{r['value']}" for r in card.get("horizontal_content_list", [])
    )
    sent = 0
    for binding in bound_groups(session, order):
        target = push_target(binding)
        if target is None or binding.audience != "internal":
            continue
        channel, recipient = target
        payload = (
            cards.textcard(title=title, description=desc or title, url=url)
            if channel == "appchat"
            else cards.app_template_card(card)
        )
        outbox.add(
            session,
            key=f"{key}:g{binding.id}",
            channel=channel,
            recipient=recipient,
            payload=payload,
            order_id=order.id,
        )
        sent += 1
    if sent:
        return sent
    for userid in concerned(order, exclude=exclude):
        outbox.add(
            session,
            key=f"{key}:{userid}",
            channel="app_message",
            recipient=userid,
            payload=cards.app_template_card(card),
            order_id=order.id,
        )
        sent += 1
    return sent


def notify_version(
    session: Session,
    deliverable: Deliverable,
    version: DeliverableVersion,
    previous: DeliverableVersion | None,
    *,
    actor: Staff,
) -> int:
    order = deliverable.project.order
    rows = [("订单", order.number), ("上传人", actor.name)]
    if version.note:
        rows.append(("说明", version.note))
    card = _card(
        session,
        task=f"dv-{version.id}",
        title=version_uploaded(deliverable.name, version, previous),
        rows=rows,
        did=deliverable.id,
    )
    return _push(
        session, deliverable, key=f"deliverable-version:{version.id}", card=card, exclude=actor
    )


def signoff_result(deliverable: Deliverable, version: DeliverableVersion) -> str:
    """The timeline line of the client's answer."""
    answer = SIGNOFF_ZH.get(version.signoff_status or "", "")
    comment = f":{version.signoff_comment}" if version.signoff_comment else ""
    return f"客户确认结果:{deliverable.name} {version.label} {answer}{comment}"


def notify_signoff(session: Session, deliverable: Deliverable, version: DeliverableVersion) -> int:
    """The client's answer to the PM and the sales owner (1:1, never a group)."""
    order = deliverable.project.order
    card = _card(
        session,
        task=f"ds-{version.id}",
        title=signoff_result(deliverable, version),
        rows=[("订单", order.number), ("客户", order.customer.name)],
        did=deliverable.id,
    )
    sent = 0
    for userid in concerned(order):
        outbox.add(
            session,
            key=f"deliverable-signoff:{version.id}:{userid}",
            channel="app_message",
            recipient=userid,
            payload=cards.app_template_card(card),
            order_id=order.id,
        )
        sent += 1
    return sent


def signoff_invitation(customer: str, deliverable: str, label: str, url: str) -> str:
    """The text of the external-contact message task (the sender confirms it in WeCom)."""
    return (
        f"尊敬的{customer}您好:交付物「{deliverable}」{label} 已完成,"
        f"请点击链接查看并确认(无需登录):{url}"
    )


def signoff_link_created(actor: Staff, link: ClientLink, label: str, tz: ZoneInfo) -> str:
    return f"{actor.name} 生成了交付物确认链接 #{link.id}({label}),有效期至 {_expiry(link, tz)}"


def deliverables_text(project: Project, items: list[Deliverable], tz: ZoneInfo) -> str:
    """The chat reply of 交付物 <订单号>: each deliverable with its current version."""
    if not items:
        return f"项目 {project.code}({project.order.number})还没有交付物"
    lines = [f"项目 {project.code}({project.order.number})的交付物({len(items)} 项):"]
    for i, d in enumerate(items, start=1):
        current = next((v for v in d.versions if v.superseded_at is None), None)
        if current is None:
            lines.append(f"{i}. {d.name}:尚无版本")
            continue
        day = current.uploaded_at.astimezone(tz).strftime("%m-%d")
        state = SIGNOFF_ZH.get(current.signoff_status or "", "")
        older = f",共 {len(d.versions)} 版" if len(d.versions) > 1 else ""
        lines.append(
            f"{i}. {d.name} 当前 {current.label}({day} {current.uploaded_by.name} 上传{older})"
            + (f" · {state}" if state else "")
        )
    return "\n".join(lines)
