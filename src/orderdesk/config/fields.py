"""Custom fields per order type: a small schema, and validation of values against it.

A schema is a list of field definitions stored on `OrderType.field_schema`:
    {"key": "site", "label": "实施地点", "type": "string", "required": true, "max": 50}
Types: string, text, number, money, date, enum (with "options"), user (a staff userid).
Once an order is submitted its custom fields are frozen, except those whose definition lists the
order's status in `"editable_in"` (e.g. `["in_progress", "delivered"]`).
`min`/`max` bound the length of strings and the value of numbers, money and dates.

Values are stored JSON-safe and exact: numbers and money as decimal strings (never float), dates
as ISO strings. Errors are field-level and Chinese: ValidationFailed(fields={key: message}).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.core.errors import ValidationFailed
from orderdesk.core.parsing import (
    DAY_RULE_ZH,
    NUMBER_RULE_ZH,
    parse_day,
    parse_decimal,
    read_decimal,
)
from orderdesk.models import Staff
from orderdesk.models.order import ORDER_STATUSES

__all__ = ["merge_values", "parse_decimal", "validate_schema", "validate_values"]

FIELD_TYPES = ("string", "text", "number", "money", "date", "enum", "user")
TYPE_NAMES_ZH = {
    "string": "文本",
    "text": "长文本",
    "number": "数字",
    "money": "金额",
    "date": "日期",
    "enum": "选项",
    "user": "人员",
}
DEFINITION_KEYS = frozenset(
    {"key", "label", "type", "required", "min", "max", "options", "help", "editable_in"}
)
KEY_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")
# Strings without an explicit max are still bounded, so a paste cannot bloat the order row.
DEFAULT_MAX_LENGTH = {"string": 200, "text": 5000}
CENT = Decimal("0.01")


def _date(raw: Any) -> date | None:
    return parse_day(raw)


def _plain(value: Decimal) -> str:
    """Decimal as plain text without exponent ("1E+3" -> "1000")."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


# ---------------------------------------------------------------- schema (admin configuration)


def _check_bound(ftype: str, name: str, raw: Any) -> tuple[Any, str | None]:
    """Parse a min/max bound for a field type; returns (value, error)."""
    if ftype in ("string", "text"):
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
            return None, f"{name} 必须是非负整数(长度)"
        return raw, None
    if ftype in ("number", "money"):
        value = parse_decimal(raw)
        return (value, None) if value is not None else (None, f"{name} 必须是数字")
    if ftype == "date":
        day = _date(raw)
        return (day, None) if day is not None else (None, f"{name} 必须是日期({DAY_RULE_ZH})")
    return None, f"{TYPE_NAMES_ZH.get(ftype, ftype)}类型不支持 {name}"


def validate_schema(schema: Any) -> dict[str, str]:
    """Errors in a field schema, keyed by path ("fields[0].type"); empty when valid."""
    errors: dict[str, str] = {}
    if not isinstance(schema, list):
        return {"fields": "字段定义必须是列表"}
    seen: set[str] = set()
    for i, field in enumerate(schema):
        path = f"fields[{i}]"
        if not isinstance(field, Mapping):
            errors[path] = "字段定义必须是映射"
            continue
        unknown = sorted(set(field) - DEFINITION_KEYS)
        if unknown:
            errors[f"{path}"] = f"未知属性 {', '.join(map(str, unknown))}"
        key = field.get("key")
        if not isinstance(key, str) or not KEY_RE.fullmatch(key):
            errors[f"{path}.key"] = "key 须为小写字母开头的字母、数字或下划线,最长 32"
        elif key in seen:
            errors[f"{path}.key"] = f"key {key} 重复"
        else:
            seen.add(key)
        label = field.get("label")
        if not isinstance(label, str) or not label.strip():
            errors[f"{path}.label"] = "label 不能为空"
        ftype = field.get("type")
        if ftype not in FIELD_TYPES:
            errors[f"{path}.type"] = f"未知类型 {ftype!r},可选:{', '.join(FIELD_TYPES)}"
            continue
        if "required" in field and not isinstance(field["required"], bool):
            errors[f"{path}.required"] = "required 必须是 true 或 false"
        bounds: dict[str, Any] = {}
        for name in ("min", "max"):
            if field.get(name) is None:
                continue
            value, err = _check_bound(ftype, name, field[name])
            if err:
                errors[f"{path}.{name}"] = err
            else:
                bounds[name] = value
        if len(bounds) == 2 and bounds["min"] > bounds["max"]:
            errors[f"{path}.min"] = "min 不能大于 max"
        options = field.get("options")
        if ftype == "enum":
            if (
                not isinstance(options, list)
                or not options
                or not all(isinstance(o, str) and o.strip() for o in options)
            ):
                errors[f"{path}.options"] = "选项类型需要非空的 options 文本列表"
            elif len(set(options)) != len(options):
                errors[f"{path}.options"] = "options 有重复项"
        elif options is not None:
            errors[f"{path}.options"] = "只有选项(enum)类型可以设置 options"
        states = field.get("editable_in")
        if states is not None and (
            not isinstance(states, list) or not all(s in ORDER_STATUSES for s in states)
        ):
            errors[f"{path}.editable_in"] = (
                f"editable_in 须为订单状态列表:{', '.join(ORDER_STATUSES)}"
            )
    return errors


def editable_after_submit(schema: Sequence[Mapping[str, Any]], status: str) -> set[str]:
    """Keys of the custom fields the order type lets people change in `status` once the order
    has been submitted (`"editable_in": ["in_progress", ...]` in the definition)."""
    return {
        str(f.get("key"))
        for f in schema
        if isinstance(f.get("editable_in"), list) and status in f["editable_in"]
    }


# ---------------------------------------------------------------- values (orders)


def _label(field: Mapping[str, Any]) -> str:
    return str(field.get("label") or field["key"])


def _clean_one(
    field: Mapping[str, Any], raw: Any, session: Session | None
) -> tuple[Any, str | None]:
    """Validate one non-empty value; returns (stored value, Chinese error)."""
    label, ftype = _label(field), field["type"]
    lo, hi = field.get("min"), field.get("max")
    if ftype in ("string", "text", "enum", "user") and not isinstance(raw, str):
        return None, f"{label}必须是文本"
    if ftype in ("string", "text"):
        text = raw.strip()
        if ftype == "string" and ("\n" in text or "\r" in text):
            return None, f"{label}不能换行"
        hi = hi if hi is not None else DEFAULT_MAX_LENGTH[ftype]
        if lo is not None and len(text) < lo:
            return None, f"{label}至少 {lo} 个字"
        if len(text) > hi:
            return None, f"{label}最多 {hi} 个字"
        return text, None
    if ftype in ("number", "money"):
        value, problem = read_decimal(raw)
        if value is None:
            if problem == "out_of_range":
                return None, f"{label}超出范围({NUMBER_RULE_ZH})"
            return None, f"{label}必须是数字"
        if ftype == "money":
            if value != value.quantize(CENT):
                return None, f"{label}最多两位小数"
            value = value.quantize(CENT)
        if lo is not None and value < Decimal(str(lo)):
            return None, f"{label}不能小于 {lo}"
        if hi is not None and value > Decimal(str(hi)):
            return None, f"{label}不能大于 {hi}"
        return (str(value) if ftype == "money" else _plain(value)), None
    if ftype == "date":
        day = _date(raw)
        if day is None:
            return None, f"{label}必须是日期,{DAY_RULE_ZH}"
        if lo is not None and day < _date(lo):  # type: ignore[operator]
            return None, f"{label}不能早于 {lo}"
        if hi is not None and day > _date(hi):  # type: ignore[operator]
            return None, f"{label}不能晚于 {hi}"
        return day.isoformat(), None
    if ftype == "enum":
        options = list(field.get("options") or [])
        value = raw.strip()
        if value not in options:
            return None, f"{label}只能是:{'、'.join(options)}"
        return value, None
    # user: a WeCom userid of an active staff member
    userid = raw.strip()
    if session is not None:
        staff = session.scalar(select(Staff).where(Staff.userid == userid))
        if staff is None or not staff.active:
            return None, f"{label}:找不到人员 {userid}"
    return userid, None


def _is_empty(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def validate_values(
    schema: Sequence[Mapping[str, Any]],
    values: Mapping[str, Any] | None,
    *,
    session: Session | None = None,
) -> dict[str, Any]:
    """The stored form of `values` under `schema`, or ValidationFailed with every field's error.

    Empty values (None, "") are dropped, so a required field given empty counts as missing.
    """
    values = dict(values or {})
    by_key = {f["key"]: f for f in schema}
    errors: dict[str, str] = {}
    for key in values:
        if key not in by_key:
            errors[str(key)] = f"未知字段 {key}"
    cleaned: dict[str, Any] = {}
    for key, field in by_key.items():
        raw = values.get(key)
        if _is_empty(raw):
            if field.get("required"):
                errors[key] = f"{_label(field)}为必填项"
            continue
        value, err = _clean_one(field, raw, session)
        if err:
            errors[key] = err
        else:
            cleaned[key] = value
    if errors:
        raise ValidationFailed("自定义字段填写有误:" + ";".join(errors.values()), fields=errors)
    return cleaned


def merge_values(
    schema: Sequence[Mapping[str, Any]],
    current: Mapping[str, Any] | None,
    changes: Mapping[str, Any],
    *,
    session: Session | None = None,
) -> dict[str, Any]:
    """Apply partial `changes` to `current` and validate the result as a whole (for updates)."""
    merged = dict(current or {})
    merged.update(changes)
    return validate_values(schema, merged, session=session)
