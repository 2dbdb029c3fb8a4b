"""What an order edit changed, in words, old → new ("标题 A → B;实施地点 滨江 → 西湖"): the
timeline says exactly what moved instead of "修改了自定义字段". Two texts: the full one, and
one without amounts for readers who may not see the order's money (timeline `plain`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from orderdesk.core.formatting import money
from orderdesk.models import BusinessLine, Contract, Customer, Order, Staff

NAMES_ZH = {
    "title": "标题",
    "owner_id": "负责人",
    "customer_id": "客户",
    "contract_id": "合同",
    "business_line_id": "业务线",
    "currency": "币种",
    "discount_rate": "折扣",
    "lines": "明细",
    "amount": "金额",
}
REFS: dict[str, tuple[type, str]] = {
    "owner_id": (Staff, "name"),
    "customer_id": (Customer, "name"),
    "contract_id": (Contract, "number"),
    "business_line_id": (BusinessLine, "name"),
}
MONEY_KEYS = ("amount", "discount_rate")
MAX_VALUE_CHARS = 60


def describe(session: Session, order: Order, diff: dict[str, list[Any]]) -> tuple[str, str]:
    """(full text, text without money) of `diff` ({field: [old, new]}, as update_order keeps)."""
    full: list[str] = []
    plain: list[str] = []
    for key, (old, new) in diff.items():
        if key == "custom_fields":
            parts = _custom(order, old or {}, new or {})
            full += [text for text, _ in parts]
            plain += [text for text, is_money in parts if not is_money]
            continue
        text = _plain_field(session, key, old, new)
        full.append(text)
        if key not in MONEY_KEYS and key != "lines":
            plain.append(text)
        elif key == "lines":
            plain.append(f"明细 改为 {new} 行")
    return "修改:" + ";".join(full), "修改:" + (";".join(plain) or "金额")


def _plain_field(session: Session, key: str, old: Any, new: Any) -> str:
    label = NAMES_ZH.get(key, key)
    if key == "lines":
        return f"明细 改为 {new} 行"
    if key == "amount":
        return f"金额 {money(_dec(old))} → {money(_dec(new))}"
    if key == "discount_rate":
        return f"折扣 {_percent(old)} → {_percent(new)}"
    if key in REFS:
        model, attr = REFS[key]
        return f"{label} {_ref(session, model, attr, old)} → {_ref(session, model, attr, new)}"
    return f"{label} {_show(old)} → {_show(new)}"


def _custom(order: Order, old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, bool]]:
    schema = {f.get("key"): f for f in (order.order_type.field_schema or [])}
    out = []
    for key in [*old, *(k for k in new if k not in old)]:
        if old.get(key) == new.get(key):
            continue
        field = schema.get(key, {})
        label = str(field.get("label") or key)
        text = f"{label} {_show(old.get(key))} → {_show(new.get(key))}"
        out.append((text, field.get("type") == "money"))
    return out


def _ref(session: Session, model: type, attr: str, row_id: Any) -> str:
    row = session.get(model, row_id) if row_id is not None else None
    return str(getattr(row, attr)) if row is not None else "无"


def _show(value: Any) -> str:
    if value is None or value == "":
        return "空"
    text = "、".join(map(str, value)) if isinstance(value, list) else str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def _dec(value: Any) -> Decimal | None:
    return Decimal(str(value)) if value is not None else None


def _percent(value: Any) -> str:
    return f"{Decimal(str(value)) * 100:.1f}%" if value not in (None, "") else "无"
