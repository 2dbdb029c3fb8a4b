"""The two after-sales ticket sections of the YAML configuration (issue 15).

ticket_slas:            # one per priority; a priority left out uses the built-in default
  - code: P1
    name: 紧急
    first_response_minutes: 60
    resolution_minutes: 480
    around_the_clock: true      # false: minutes count only in business hours
    remind_before_minutes: 15
    escalate_every_minutes: 60  # level 2 and 3 follow the breach at this interval
ticket_queues:          # the queue of a business line: its delivery team and its head
  - code: IT
    name: IT 实施售后
    business_line: IT
    department: 交付中心          # department name; its members are the queue
    head: huangwei                # userid of the business line head (last escalation)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.core.errors import ValidationFailed
from orderdesk.models import BusinessLine, Department, TicketQueue, TicketSla
from orderdesk.models.ticket import PRIORITIES

if TYPE_CHECKING:
    from orderdesk.config.rules import Problems

SECTIONS = ("ticket_slas", "ticket_queues")
MODELS: dict[str, Any] = {"ticket_slas": TicketSla, "ticket_queues": TicketQueue}
KEYS = {
    "ticket_slas": frozenset(
        {
            "code",
            "name",
            "first_response_minutes",
            "resolution_minutes",
            "around_the_clock",
            "remind_before_minutes",
            "escalate_every_minutes",
        }
    ),
    "ticket_queues": frozenset({"code", "name", "business_line", "department", "head"}),
}
MINUTE_KEYS = (
    ("first_response_minutes", 1, None),
    ("resolution_minutes", 1, None),
    ("remind_before_minutes", 0, 30),
    ("escalate_every_minutes", 1, 120),
)


def check(section: str, item: Mapping[str, Any], path: str, p: Problems) -> None:
    """Problems of one record beyond the common ones (code, name, unknown keys, references)."""
    if section == "ticket_queues":
        if not item.get("business_line"):
            p.add(f"{path}.business_line", "必填")
        for key in ("department", "head"):
            if item.get(key) is not None and not isinstance(item[key], str):
                p.add(f"{path}.{key}", "须为文字")
        return
    if item.get("code") not in PRIORITIES:
        p.add(f"{path}.code", f"须为 {'/'.join(PRIORITIES)} 之一")
    for key, low, default in MINUTE_KEYS:
        value = item.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            p.add(f"{path}.{key}", f"须为不小于 {low} 的整数(分钟)")
    first, full = item.get("first_response_minutes"), item.get("resolution_minutes")
    if isinstance(first, int) and isinstance(full, int) and full < first:
        p.add(f"{path}.resolution_minutes", "解决时限不能早于首次响应时限")
    if "around_the_clock" in item and not isinstance(item["around_the_clock"], bool):
        p.add(f"{path}.around_the_clock", "须为 true 或 false")


def export_row(session: Session, section: str, row: Any) -> dict[str, Any]:
    if section == "ticket_slas":
        return {"code": row.code, "name": row.name} | {
            key: getattr(row, key) for key in sorted(KEYS[section] - {"code", "name"})
        }
    department = session.get(Department, row.department_id) if row.department_id else None
    return {
        "code": row.code,
        "name": row.name,
        "business_line": session.get(BusinessLine, row.business_line_id).code,  # type: ignore[union-attr]
        "department": department.name if department is not None else None,
        "head": row.head_userid,
    }


def apply_row(session: Session, section: str, row: Any, item: Mapping[str, Any]) -> None:
    row.name = item["name"]
    if section == "ticket_slas":
        for key, _low, default in MINUTE_KEYS:
            setattr(row, key, int(item.get(key, default)))
        row.around_the_clock = bool(item.get("around_the_clock", False))
        return
    line = session.scalar(select(BusinessLine).where(BusinessLine.code == item["business_line"]))
    row.business_line_id = line.id if line is not None else None
    row.department_id = _department_id(session, item.get("department"), row.code)
    row.head_userid = item.get("head") or None


def _department_id(session: Session, name: str | None, code: str) -> int | None:
    if not name:
        return None
    found = list(session.scalars(select(Department.id).where(Department.name == name)))
    if len(found) != 1:
        why = "找不到" if not found else "有多个同名"
        raise ValidationFailed(
            f"工单队列 {code}:{why}部门「{name}」", fields={f"ticket_queues.{code}": name}
        )
    return found[0]
