"""Order lines: parsing what the user typed into exact Decimal lines, and the derived amount."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.config.fields import parse_decimal
from orderdesk.models import OrderLine, ServiceItem
from orderdesk.models.catalog import BILLING_METHODS

CENT = Decimal("0.01")
MAX_LINES = 100
BILLING_NAMES_ZH = {
    "fixed": "固定总价",
    "milestone": "按里程碑",
    "time_and_materials": "按人天/工时",
    "subscription": "订阅",
}
LINE_KEYS = frozenset(
    {
        "service_item",
        "service_item_id",
        "description",
        "quantity",
        "unit",
        "unit_price",
        "billing_method",
    }
)


def money(raw: Any, *, field: str, errors: dict[str, str], label: str) -> Decimal | None:
    """A non-negative amount with at most two decimals, or an error recorded under `field`."""
    value = parse_decimal(raw)
    if value is None:
        errors[field] = f"{label}必须是数字"
        return None
    if value < 0:
        errors[field] = f"{label}不能为负数"
        return None
    if value != value.quantize(CENT):
        errors[field] = f"{label}最多两位小数"
        return None
    return value.quantize(CENT)


def line_amount(quantity: Decimal, unit_price: Decimal) -> Decimal:
    return (quantity * unit_price).quantize(CENT, rounding=ROUND_HALF_UP)


def _item(session: Session, raw: Mapping[str, Any]) -> ServiceItem | None:
    if raw.get("service_item_id") is not None:
        return session.get(ServiceItem, raw["service_item_id"])
    code = raw.get("service_item")
    if code:
        return session.scalar(select(ServiceItem).where(ServiceItem.code == str(code).strip()))
    return None


def build_lines(
    session: Session,
    raw_lines: Any,
    *,
    default_billing: str,
    errors: dict[str, str],
) -> list[OrderLine]:
    """OrderLine objects from dicts; every problem is recorded as lines[i].field in `errors`."""
    if not isinstance(raw_lines, Sequence) or isinstance(raw_lines, str):
        errors["lines"] = "明细必须是列表"
        return []
    if len(raw_lines) > MAX_LINES:
        errors["lines"] = f"明细最多 {MAX_LINES} 行"
        return []
    lines: list[OrderLine] = []
    for i, raw in enumerate(raw_lines):
        path = f"lines[{i}]"
        if not isinstance(raw, Mapping):
            errors[path] = "明细行格式错误"
            continue
        unknown = sorted(set(raw) - LINE_KEYS)
        if unknown:
            errors[path] = f"未知字段 {', '.join(unknown)}"
            continue
        item = _item(session, raw)
        if (raw.get("service_item") or raw.get("service_item_id")) and (
            item is None or not item.active
        ):
            errors[f"{path}.service_item"] = "找不到该服务项目"
            continue
        description = str(raw.get("description") or (item.name if item else "")).strip()
        if not description:
            errors[f"{path}.description"] = "请填写明细说明或选择服务项目"
        elif len(description) > 200:
            errors[f"{path}.description"] = "明细说明最多 200 个字"
        quantity = parse_decimal(raw.get("quantity", 1))
        if quantity is None or quantity <= 0:
            errors[f"{path}.quantity"] = "数量必须大于 0"
        elif quantity != quantity.quantize(CENT) or quantity >= Decimal("1e10"):
            errors[f"{path}.quantity"] = "数量最多两位小数"
        price_raw = raw.get("unit_price")
        if price_raw is None:
            if item is None:
                errors[f"{path}.unit_price"] = "请填写单价"
            price = item.unit_price if item else None
        else:
            price = money(price_raw, field=f"{path}.unit_price", errors=errors, label="单价")
        billing = str(
            raw.get("billing_method") or (item.billing_method if item else default_billing)
        )
        if billing not in BILLING_METHODS:
            errors[f"{path}.billing_method"] = "计费方式只能是:" + "、".join(
                f"{k}({v})" for k, v in BILLING_NAMES_ZH.items()
            )
        unit = str(raw.get("unit") or (item.unit if item else "项")).strip()[:16] or "项"
        if path in errors or any(k.startswith(path + ".") for k in errors):
            continue
        assert quantity is not None and price is not None
        lines.append(
            OrderLine(
                position=i + 1,
                service_item_id=item.id if item else None,
                description=description,
                quantity=quantity,
                unit=unit,
                unit_price=price,
                billing_method=billing,
                amount=line_amount(quantity, price),
            )
        )
    return lines


def lines_total(lines: Sequence[OrderLine]) -> Decimal:
    return sum((line.amount for line in lines), Decimal("0.00"))


def list_price_discount(session: Session, lines: Sequence[OrderLine]) -> Decimal:
    """The discount against catalogue prices (0 when no line comes from the catalogue).

    Approval rules use it ("discount above a limit") when the user did not state a discount.
    """
    list_total = Decimal("0")
    sold_total = Decimal("0")
    for line in lines:
        if line.service_item_id is None:
            continue
        item = session.get(ServiceItem, line.service_item_id)
        if item is None or item.unit_price <= 0:
            continue
        list_total += line_amount(line.quantity, item.unit_price)
        sold_total += line.amount
    if list_total <= 0 or sold_total >= list_total:
        return Decimal("0")
    return ((list_total - sold_total) / list_total).quantize(Decimal("0.0001"), ROUND_HALF_UP)
