"""Reading order input: look-ups by code, field-level errors, the amount rule. Shared by
create (orders.py) and edit (order_edit.py)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from orderdesk.config.fields import editable_after_submit, parse_decimal
from orderdesk.core.errors import ValidationFailed
from orderdesk.models import Order, Staff
from orderdesk.models.staff import MANAGING_ROLES
from orderdesk.orders.lines import money

CREATE_KEYS = frozenset(
    {
        "order_type",
        "order_type_id",
        "customer",
        "customer_id",
        "title",
        "owner_userid",
        "contract",
        "contract_id",
        "business_line",
        "business_line_id",
        "lines",
        "amount",
        "override_reason",
        "discount_rate",
        "currency",
        "custom_fields",
    }
)
# Fields that change what was (or will be) approved: editable only while the order is a draft.
DRAFT_ONLY_KEYS = frozenset(
    {
        "customer",
        "customer_id",
        "contract",
        "contract_id",
        "lines",
        "amount",
        "discount_rate",
        "currency",
        "order_type",
        "order_type_id",
        "business_line",
        "business_line_id",
    }
)
UPDATE_KEYS = frozenset(CREATE_KEYS - {"order_type", "order_type_id"})
FINAL_STATES = ("closed", "cancelled")
CREATOR_ROLES = ("sales", *MANAGING_ROLES)
MAX_PROGRESS_CHARS = 2000


def lookup(
    session: Session,
    data: Mapping[str, Any],
    *,
    model: Any,
    by_id: str,
    by_code: str,
    column: Any,
    label: str,
    errors: dict[str, str],
    scope: ColumnElement[bool] | None = None,
) -> Any:
    """The row `data` names by id or by code, or None (with a field error when named but not
    found). Outside `scope` a row is "not found", the same words as a wrong id."""
    where = scope if scope is not None else true()
    if data.get(by_id) is not None:
        raw = data[by_id]
        valid = isinstance(raw, int) and not isinstance(raw, bool)
        found = session.scalar(select(model).where(model.id == raw, where)) if valid else None
    elif data.get(by_code):
        found = session.scalar(select(model).where(column == str(data[by_code]).strip(), where))
    else:
        return None
    if found is None:
        errors[by_code] = f"找不到{label} {data.get(by_code) or data.get(by_id)}"
    return found


def frozen_changes(order: Order, changes: Mapping[str, Any]) -> dict[str, str]:
    """Field errors for what `changes` may not touch in the order's status. After submit the
    approved substance is frozen: DRAFT_ONLY_KEYS, the custom fields (unless the order type marks
    one editable in this status), and the owner while the approval runs (who owns an order
    decides who may approve it)."""
    if order.status == "draft":
        return {}
    errors = dict.fromkeys(sorted(k for k in changes if k in DRAFT_ONLY_KEYS), "仅草稿可改")
    new_owner = changes.get("owner_userid")
    if new_owner and new_owner != order.owner.userid and order.status == "pending_approval":
        errors["owner_userid"] = "审批中不能转交订单"
    new_values = changes.get("custom_fields")
    if isinstance(new_values, Mapping):
        schema = order.order_type.field_schema or []
        editable = editable_after_submit(schema, order.status)
        current = order.custom_fields or {}
        for key, value in new_values.items():
            if key not in editable and current.get(key) != value:
                errors[f"custom_fields.{key}"] = f"订单{order.status_zh},该字段不能修改"
    return errors


def parse_discount(raw: Any, errors: dict[str, str]) -> Decimal | None:
    value = parse_decimal(raw)
    if value is None or value < 0 or value >= 1:
        errors["discount_rate"] = "折扣率必须是 0 到 1 之间的小数(如 0.15 表示 15%)"
        return None
    return value.quantize(Decimal("0.0001"))


def find_staff(session: Session, userid: str, errors: dict[str, str]) -> Staff | None:
    staff = session.scalar(select(Staff).where(Staff.userid == str(userid).strip()))
    if staff is None or not staff.active:
        errors["owner_userid"] = f"找不到人员 {userid}"
        return None
    return staff


def reject_unknown(data: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        fields = dict.fromkeys(unknown, "未知字段")
        raise ValidationFailed(f"未知字段:{', '.join(unknown)}", fields=fields)


def raise_if(errors: dict[str, str]) -> None:
    if errors:
        raise ValidationFailed("订单信息有误:" + ";".join(errors.values()), fields=errors)


def set_amount(
    order: Order, data: Mapping[str, Any], errors: dict[str, str], *, derived: Decimal
) -> str | None:
    """Derive the amount from the lines, or apply an explicit override (reason required).

    Returns a timeline note when an override is set or cleared.
    """
    if "amount" in data and data["amount"] is not None:
        value = money(data["amount"], field="amount", errors=errors, label="订单金额")
        reason = str(data.get("override_reason") or "").strip()
        if not reason:
            errors["override_reason"] = "手工调整金额需要填写原因"
        if value is None or not reason:
            return None
        order.amount, order.amount_overridden, order.override_reason = value, True, reason
        return f"金额手工调整为 {value}(明细合计 {derived},原因:{reason})"
    if "amount" in data and order.amount_overridden:  # explicit None: back to the lines
        order.amount_overridden, order.override_reason = False, None
        order.amount = derived
        return f"取消手工金额,按明细合计 {derived}"
    if not order.amount_overridden:
        order.amount = derived
    return None
