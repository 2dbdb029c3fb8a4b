"""The texts of delivery and client service: chat replies and timeline lines (Chinese first)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from orderdesk.models import ClientLink, Staff

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
