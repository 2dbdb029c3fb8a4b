"""Request validation against the same JSON Schemas the OpenAPI document publishes.

Messages are Chinese and keyed by field path, e.g. {"lines.0.quantity": "必须大于 0"}.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from orderdesk.miniapp_api.errors import ApiError

TYPE_ZH = {
    "string": "文本",
    "integer": "整数",
    "number": "数字",
    "boolean": "布尔值",
    "object": "对象",
    "array": "列表",
    "null": "空",
}


def _message(err: ValidationError) -> str:
    schema = err.schema if isinstance(err.schema, dict) else {}
    custom = schema.get("x-message")
    if custom and err.validator not in ("required", "additionalProperties", "type"):
        return str(custom)
    v = err.validator_value
    match err.validator:
        case "required":
            return "必填"
        case "additionalProperties":
            return "不支持的字段"
        case "type":
            types = v if isinstance(v, list) else [v]
            return "类型不正确,应为" + "或".join(TYPE_ZH.get(str(t), str(t)) for t in types)
        case "minLength":
            return "不能为空" if v == 1 else f"至少 {v} 个字符"
        case "maxLength":
            return f"不能超过 {v} 个字符"
        case "pattern" | "format":
            return "格式不正确"
        case "enum":
            return "取值应为:" + "、".join(str(x) for x in v)
        case "const":
            return f"取值应为:{v}"
        case "minimum":
            return f"不能小于 {v}"
        case "maximum":
            return f"不能大于 {v}"
        case "exclusiveMinimum":
            return f"必须大于 {v}"
        case "exclusiveMaximum":
            return f"必须小于 {v}"
        case "minItems":
            return f"至少需要 {v} 项"
        case "maxItems":
            return f"最多 {v} 项"
        case "minProperties":
            return "至少需要一个字段"
        case "maxProperties":
            return f"最多 {v} 个字段"
    return "取值不正确"


def _field_names(err: ValidationError) -> list[str]:
    base = [str(p) for p in err.absolute_path]
    if err.validator == "required":
        missing = [p for p in err.validator_value if isinstance(err.instance, dict)]
        missing = [p for p in missing if p not in err.instance]
        return [".".join([*base, str(m)]) for m in missing] or [".".join(base) or "body"]
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        allowed = set((err.schema.get("properties") or {}) if isinstance(err.schema, dict) else ())
        extra = [k for k in err.instance if k not in allowed]
        return [".".join([*base, str(k)]) for k in extra] or [".".join(base) or "body"]
    return [".".join(base) or "body"]


def field_errors(schema: Mapping[str, Any], instance: Any) -> dict[str, str]:
    """{field path: Chinese message} for every problem (empty when valid)."""
    validator = Draft202012Validator(dict(schema))
    fields: dict[str, str] = {}
    for err in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path)):
        for name in _field_names(err):
            fields.setdefault(name, _message(err))
    return fields


# C0 controls except tab and newlines, and lone UTF-16 surrogates ("\ud800" in JSON): neither
# is text anybody typed, and the database refuses both (NUL; a surrogate cannot be encoded).
_ILLEGAL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def control_characters(instance: Any, path: str = "") -> dict[str, str]:
    """Fields whose text holds NUL or other C0 control characters, or lone surrogates."""
    found: dict[str, str] = {}
    if isinstance(instance, str):
        if _ILLEGAL_CHARS.search(instance):
            found[path or "body"] = "包含非法字符"
    elif isinstance(instance, dict):
        for key, value in instance.items():
            found.update(control_characters(value, f"{path}.{key}" if path else str(key)))
            if control_characters(str(key)):
                found[f"{path}.{key}" if path else str(key)] = "包含非法字符"
    elif isinstance(instance, list):
        for i, value in enumerate(instance):
            found.update(control_characters(value, f"{path}.{i}" if path else str(i)))
    return found


def nesting_depth(instance: Any, limit: int) -> int:
    """How deep lists and objects nest in `instance`, counted without recursion and only up to
    `limit + 1` (a body of 100,000 brackets must not cost a stack frame per bracket)."""
    deepest, stack = 0, [(instance, 1)]
    while stack:
        value, depth = stack.pop()
        if not isinstance(value, dict | list):
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        children = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children)
    return deepest


def validate(schema: Mapping[str, Any], instance: Any, *, what: str = "请求参数有误") -> None:
    fields = control_characters(instance) or field_errors(schema, instance)
    if fields:
        raise ApiError(422, what, fields=fields)


def coerce_query(schema: Mapping[str, Any], args: Mapping[str, list[str]]) -> dict[str, Any]:
    """Turn query strings into typed values by the declared property types, then validate.

    Unknown parameters are refused, like unknown body fields.
    """
    props: dict[str, Any] = dict(schema.get("properties") or {})
    values: dict[str, Any] = {}
    fields: dict[str, str] = control_characters({k: "".join(v) for k, v in args.items()})
    for name, raw_values in args.items():
        if name not in props:
            fields[name] = "不支持的参数"
            continue
        if len(raw_values) != 1:
            fields[name] = "只能出现一次"
            continue
        raw = raw_values[0]
        kind = props[name].get("type")
        if kind == "integer":
            # ASCII only: int() would also read "１２" and "1_000".
            if re.fullmatch(r"-?[0-9]{1,12}", raw):
                values[name] = int(raw)
            else:
                fields[name] = "类型不正确,应为整数"
        else:
            values[name] = raw
    if fields:
        raise ApiError(422, fields=fields)
    validate(schema, values)
    return values
