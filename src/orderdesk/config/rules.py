"""What a valid configuration document looks like, section by section (used by config_io)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from orderdesk.config import ticket_config
from orderdesk.config.fields import parse_decimal, validate_schema
from orderdesk.core.errors import ValidationFailed
from orderdesk.models.approval import APPROVER_KINDS, STEP_MODES
from orderdesk.models.catalog import BILLING_METHODS
from orderdesk.models.staff import ROLES

FORMAT_VERSION = 1
# Dependency order: a later section may refer to codes of an earlier one.
SECTIONS: tuple[str, ...] = (
    "business_lines",
    "project_templates",
    "approval_flows",
    "service_items",
    "order_types",
)
SECTIONS += ticket_config.SECTIONS  # issue 15: after-sales tickets
CODE_RE = re.compile(r"[A-Za-z0-9_\-]{1,32}")
KEYS: dict[str, frozenset[str]] = {
    "business_lines": frozenset({"code", "name"}),
    "project_templates": frozenset({"code", "name", "tasks", "milestones"}),
    "approval_flows": frozenset(
        {
            "code",
            "name",
            "business_line",
            "min_amount",
            "max_amount",
            "conditions",
            "priority",
            "remind_after_hours",
            "escalate_after_hours",
            "active",
            "steps",
        }
    ),
    "service_items": frozenset(
        {
            "code",
            "name",
            "unit",
            "unit_price",
            "cost_estimate",
            "billing_method",
            "business_line",
            "active",
        }
    ),
    "order_types": frozenset(
        {
            "code",
            "name",
            "business_line",
            "default_billing_method",
            "approval_flow",
            "project_template",
            "active",
            "fields",
        }
    ),
}
KEYS.update(ticket_config.KEYS)
NAME_MAX = {"service_items": 128}
STEP_KEYS = frozenset(
    {"sequence", "name", "approver_kind", "approver_value", "mode", "min_amount", "conditions"}
)
CONDITION_KEYS = frozenset(
    {"order_types", "new_customer", "discount_above", "min_amount", "max_amount", "kind"}
)
TASK_KEYS = frozenset({"title", "offset_days", "owner_role"})
MILESTONE_KEYS = frozenset({"name", "offset_days"})


class Problems:
    """Collected validation problems, path -> Chinese message."""

    def __init__(self) -> None:
        self.items: dict[str, str] = {}

    def add(self, path: str, message: str) -> None:
        self.items.setdefault(path, message)

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            listing = "\n".join(f"- {path}: {msg}" for path, msg in self.items.items())
            raise ValidationFailed(
                f"配置有 {len(self.items)} 处错误,未做任何修改:\n{listing}", fields=self.items
            )


def _unknown(item: Mapping[str, Any], allowed: frozenset[str], path: str, p: Problems) -> None:
    extra = sorted(str(k) for k in item if k not in allowed)
    if extra:
        p.add(path, f"未知字段 {', '.join(extra)}")


def _name(item: Mapping[str, Any], key: str, path: str, p: Problems, limit: int = 64) -> None:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        p.add(f"{path}.{key}", f"{key} 不能为空")
    elif len(value) > limit:
        p.add(f"{path}.{key}", f"{key} 最多 {limit} 个字")


def _amount(value: Any, path: str, p: Problems, *, required: bool = False) -> Decimal | None:
    if value is None:
        if required:
            p.add(path, "必填")
        return None
    parsed = parse_decimal(value)
    if parsed is None or parsed < 0 or parsed != parsed.quantize(Decimal("0.01")):
        p.add(path, '须为非负金额,最多两位小数(建议写成字符串 "50000.00")')
        return None
    return parsed


def _int(value: Any, path: str, p: Problems, *, low: int = 0) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        p.add(path, f"须为不小于 {low} 的整数")
        return None
    return value


def _bool(item: Mapping[str, Any], key: str, path: str, p: Problems) -> None:
    if key in item and not isinstance(item[key], bool):
        p.add(f"{path}.{key}", "须为 true 或 false")


def _ref(
    item: Mapping[str, Any],
    key: str,
    section: str,
    path: str,
    p: Problems,
    known: dict[str, set[str]],
) -> None:
    value = item.get(key)
    if value is not None and value not in known.get(section, set()):
        p.add(f"{path}.{key}", f"找不到 {value}(既不在文件中也不在系统中)")


def _conditions(value: Any, path: str, p: Problems, known: dict[str, set[str]]) -> None:
    if value is None:
        return
    if not isinstance(value, Mapping):
        p.add(path, "须为映射")
        return
    _unknown(value, CONDITION_KEYS, path, p)
    types = value.get("order_types")
    if types is not None:
        if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
            p.add(f"{path}.order_types", "须为订单类型 code 列表")
        else:
            missing = [t for t in types if t not in known.get("order_types", set())]
            if missing:
                p.add(f"{path}.order_types", f"找不到订单类型 {', '.join(missing)}")
    if value.get("kind", "order") not in ("order", "change"):
        p.add(f"{path}.kind", "须为 order 或 change(变更单流程)")
    if "new_customer" in value and not isinstance(value["new_customer"], bool):
        p.add(f"{path}.new_customer", "须为 true 或 false")
    if "discount_above" in value:
        rate = parse_decimal(value["discount_above"])
        if rate is None or not Decimal(0) <= rate < 1:
            p.add(f"{path}.discount_above", "须为 0 到 1 之间的小数")
    for key in ("min_amount", "max_amount"):
        _amount(value.get(key), f"{path}.{key}", p)


def _steps(value: Any, path: str, p: Problems, known: dict[str, set[str]]) -> None:
    if not isinstance(value, list) or not value:
        p.add(path, "审批流至少需要一个步骤")
        return
    sequences: set[int] = set()
    for i, step in enumerate(value):
        sp = f"{path}[{i}]"
        if not isinstance(step, Mapping):
            p.add(sp, "必须是映射")
            continue
        _unknown(step, STEP_KEYS, sp, p)
        seq = _int(step.get("sequence"), f"{sp}.sequence", p, low=1)
        if step.get("sequence") is None:
            p.add(f"{sp}.sequence", "必填")
        elif seq is not None and seq in sequences:
            p.add(f"{sp}.sequence", f"序号 {seq} 重复")
        elif seq is not None:
            sequences.add(seq)
        _name(step, "name", sp, p)
        kind, target = step.get("approver_kind"), str(step.get("approver_value") or "")
        if kind not in APPROVER_KINDS:
            p.add(f"{sp}.approver_kind", f"须为 {', '.join(APPROVER_KINDS)} 之一")
        elif kind == "role" and target not in ROLES:
            p.add(f"{sp}.approver_value", f"角色须为 {', '.join(ROLES)} 之一")
        elif kind == "users" and not [u for u in target.split(",") if u.strip()]:
            p.add(f"{sp}.approver_value", "请填写审批人 userid,逗号分隔")
        if step.get("mode", "any") not in STEP_MODES:
            p.add(f"{sp}.mode", f"须为 {' 或 '.join(STEP_MODES)}")
        _amount(step.get("min_amount"), f"{sp}.min_amount", p)
        _conditions(step.get("conditions"), f"{sp}.conditions", p, known)


def _offset_list(value: Any, path: str, p: Problems, keys: frozenset[str], title_key: str) -> None:
    if value is None:
        return
    if not isinstance(value, list):
        p.add(path, "须为列表")
        return
    for i, entry in enumerate(value):
        ep = f"{path}[{i}]"
        if not isinstance(entry, Mapping):
            p.add(ep, "必须是映射")
            continue
        _unknown(entry, keys, ep, p)
        _name(entry, title_key, ep, p, limit=200)
        _int(entry.get("offset_days"), f"{ep}.offset_days", p)
        role = entry.get("owner_role")
        if role is not None and role not in ROLES:
            p.add(f"{ep}.owner_role", f"角色须为 {', '.join(ROLES)} 之一")


def check_item(
    section: str, item: Mapping[str, Any], path: str, p: Problems, known: dict[str, set[str]]
) -> None:
    """Record every problem of one record (the code itself is checked by the caller)."""
    _unknown(item, KEYS[section], path, p)
    _name(item, "name", path, p, NAME_MAX.get(section, 64))
    if section != "business_lines" and section != "project_templates":
        _ref(item, "business_line", "business_lines", path, p, known)
        _bool(item, "active", path, p)
    if section == "project_templates":
        _offset_list(item.get("tasks"), f"{path}.tasks", p, TASK_KEYS, "title")
        _offset_list(item.get("milestones"), f"{path}.milestones", p, MILESTONE_KEYS, "name")
    elif section == "approval_flows":
        low = _amount(item.get("min_amount"), f"{path}.min_amount", p)
        high = _amount(item.get("max_amount"), f"{path}.max_amount", p)
        if low is not None and high is not None and low > high:
            p.add(f"{path}.min_amount", "min_amount 不能大于 max_amount")
        _int(item.get("priority"), f"{path}.priority", p, low=-1000)
        remind = _int(item.get("remind_after_hours"), f"{path}.remind_after_hours", p, low=1)
        escalate = _int(item.get("escalate_after_hours"), f"{path}.escalate_after_hours", p, low=1)
        if remind is not None and escalate is not None and escalate < remind:
            p.add(f"{path}.escalate_after_hours", "升级时间不能早于提醒时间")
        _conditions(item.get("conditions"), f"{path}.conditions", p, known)
        _steps(item.get("steps"), f"{path}.steps", p, known)
    elif section == "service_items":
        _amount(item.get("unit_price"), f"{path}.unit_price", p, required=True)
        _amount(item.get("cost_estimate"), f"{path}.cost_estimate", p)
        if item.get("billing_method", "fixed") not in BILLING_METHODS:
            p.add(f"{path}.billing_method", f"须为 {', '.join(BILLING_METHODS)} 之一")
        unit = item.get("unit")
        if unit is not None and (not isinstance(unit, str) or not 0 < len(unit) <= 16):
            p.add(f"{path}.unit", "单位须为 1-16 个字")
    elif section in ticket_config.SECTIONS:
        ticket_config.check(section, item, path, p)
    elif section == "order_types":
        if item.get("default_billing_method", "fixed") not in BILLING_METHODS:
            p.add(f"{path}.default_billing_method", f"须为 {', '.join(BILLING_METHODS)} 之一")
        _ref(item, "approval_flow", "approval_flows", path, p, known)
        _ref(item, "project_template", "project_templates", path, p, known)
        for sub, msg in validate_schema(item.get("fields") or []).items():
            p.add(f"{path}.{sub}", msg)
