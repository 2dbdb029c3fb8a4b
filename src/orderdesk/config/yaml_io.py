"""Admin configuration as one YAML document: order types (with field schemas), service items,
approval flows (with steps), project templates, and the business lines they refer to.

`export_config` -> `import_config` round-trips exactly (records are matched by `code`; money is
written as decimal strings, never floats). An import validates the whole document first and
reports every problem at once; on any error nothing is written. Records missing from the file
are left as they are (deactivate them with `active: false`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.config import reporting, ticket_config
from orderdesk.config.fields import parse_decimal
from orderdesk.config.rules import CODE_RE, FORMAT_VERSION, SECTIONS, Problems, check_item
from orderdesk.core.errors import ValidationFailed
from orderdesk.models import (
    ApprovalFlow,
    ApprovalStep,
    BusinessLine,
    OrderType,
    ProjectTemplate,
    ServiceItem,
)

MODELS: dict[str, Any] = {
    "business_lines": BusinessLine,
    "project_templates": ProjectTemplate,
    "approval_flows": ApprovalFlow,
    "service_items": ServiceItem,
    "order_types": OrderType,
}
MODELS.update(ticket_config.MODELS)  # issue 15: after-sales tickets
STEP_KEYS = ("sequence", "name", "approver_kind", "approver_value", "mode", "min_amount")


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _dec(value: Any) -> Decimal | None:
    parsed = parse_decimal(value) if value is not None else None
    return parsed.quantize(Decimal("0.01")) if parsed is not None else None


class _Codes:
    """id -> code look-ups for the references an export writes as codes."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def of(self, model: Any, row_id: int | None) -> str | None:
        if row_id is None:
            return None
        row = self.session.get(model, row_id)
        return row.code if row is not None else None

    def id(self, model: Any, code: str | None) -> int | None:
        if code is None:
            return None
        return int(self.session.scalars(select(model.id).where(model.code == code)).one())


# ---------------------------------------------------------------- one record <-> plain data


def _export_row(section: str, row: Any, codes: _Codes) -> dict[str, Any]:
    if section in ticket_config.SECTIONS:
        return ticket_config.export_row(codes.session, section, row)
    if section == "business_lines":
        return {"code": row.code, "name": row.name}
    if section == "project_templates":
        return {
            "code": row.code,
            "name": row.name,
            "tasks": list(row.tasks or []),
            "milestones": list(row.milestones or []),
        }
    if section == "approval_flows":
        return {
            "code": row.code,
            "name": row.name,
            "business_line": codes.of(BusinessLine, row.business_line_id),
            "min_amount": _money(row.min_amount),
            "max_amount": _money(row.max_amount),
            "conditions": dict(row.conditions or {}),
            "priority": row.priority,
            "remind_after_hours": row.remind_after_hours,
            "escalate_after_hours": row.escalate_after_hours,
            "active": row.active,
            "steps": [
                {
                    **{k: getattr(s, k) for k in STEP_KEYS},
                    "min_amount": _money(s.min_amount),
                    "conditions": dict(s.conditions or {}),
                }
                for s in sorted(row.steps, key=lambda s: s.sequence)
            ],
        }
    if section == "service_items":
        return {
            "code": row.code,
            "name": row.name,
            "unit": row.unit,
            "unit_price": _money(row.unit_price),
            "cost_estimate": _money(row.cost_estimate),
            "billing_method": row.billing_method,
            "business_line": codes.of(BusinessLine, row.business_line_id),
            "active": row.active,
        }
    return {
        "code": row.code,
        "name": row.name,
        "business_line": codes.of(BusinessLine, row.business_line_id),
        "default_billing_method": row.default_billing_method,
        "approval_flow": codes.of(ApprovalFlow, row.approval_flow_id),
        "project_template": codes.of(ProjectTemplate, row.project_template_id),
        "active": row.active,
        "fields": list(row.field_schema or []),
    }


def _apply_row(section: str, row: Any, item: Mapping[str, Any], codes: _Codes) -> None:
    if section in ticket_config.SECTIONS:
        ticket_config.apply_row(codes.session, section, row, item)
        return
    row.name = item["name"]
    if section == "project_templates":
        row.tasks = list(item.get("tasks") or [])
        row.milestones = list(item.get("milestones") or [])
        return
    if section == "business_lines":
        return
    row.business_line_id = codes.id(BusinessLine, item.get("business_line"))
    row.active = bool(item.get("active", True))
    if section == "service_items":
        row.unit = item.get("unit") or "项"
        row.unit_price = _dec(item.get("unit_price")) or Decimal("0.00")
        row.cost_estimate = _dec(item.get("cost_estimate")) or Decimal("0.00")
        row.billing_method = item.get("billing_method") or "fixed"
    elif section == "order_types":
        row.default_billing_method = item.get("default_billing_method") or "fixed"
        row.approval_flow_id = codes.id(ApprovalFlow, item.get("approval_flow"))
        row.project_template_id = codes.id(ProjectTemplate, item.get("project_template"))
        row.field_schema = list(item.get("fields") or [])
    else:
        _apply_flow(row, item, codes.session)


def _apply_flow(flow: ApprovalFlow, item: Mapping[str, Any], session: Session) -> None:
    flow.min_amount = _dec(item.get("min_amount"))
    flow.max_amount = _dec(item.get("max_amount"))
    flow.conditions = dict(item.get("conditions") or {})
    flow.priority = int(item.get("priority", 0))
    flow.remind_after_hours = int(item.get("remind_after_hours", 24))
    flow.escalate_after_hours = int(item.get("escalate_after_hours", 48))
    wanted = [
        {
            "sequence": int(s["sequence"]),
            "name": s["name"],
            "approver_kind": s["approver_kind"],
            "approver_value": str(s.get("approver_value") or ""),
            "mode": s.get("mode") or "any",
            "min_amount": _dec(s.get("min_amount")),
            "conditions": dict(s.get("conditions") or {}),
        }
        for s in item.get("steps") or []
    ]
    current = [
        {**{k: getattr(s, k) for k in STEP_KEYS}, "conditions": dict(s.conditions or {})}
        for s in sorted(flow.steps, key=lambda s: s.sequence)
    ]
    if wanted != current:
        # Requests in flight keep their snapshot of the steps, so replacing them is safe.
        if flow.steps:
            flow.steps.clear()
            session.flush()  # free the (flow, sequence) slots before inserting the new steps
        flow.steps.extend(ApprovalStep(**values) for values in wanted)


# ---------------------------------------------------------------- export


def export_config(session: Session) -> dict[str, Any]:
    """The configuration as plain data, each section sorted by code (exports diff cleanly)."""
    codes = _Codes(session)
    data: dict[str, Any] = {"version": FORMAT_VERSION}
    for section, model in MODELS.items():
        rows = session.scalars(select(model).order_by(model.code))
        data[section] = [_export_row(section, row, codes) for row in rows]
    if (report_cfg := reporting.export_section(session)) is not None:
        data[reporting.KEY] = report_cfg
    return data


def dump_yaml(data: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(data), allow_unicode=True, sort_keys=False, width=100)


def export_yaml(session: Session) -> str:
    return dump_yaml(export_config(session))


# ---------------------------------------------------------------- validation and import


@dataclass
class ImportResult:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        return ";".join(
            f"{s}: 新增 {self.created.get(s, 0)},更新 {self.updated.get(s, 0)},"
            f"未变 {self.unchanged.get(s, 0)}"
            for s in SECTIONS
        )


def parse_yaml(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"(第 {mark.line + 1} 行)" if mark is not None else ""
        raise ValidationFailed(f"YAML 格式错误{where}", fields={"$": str(exc)}) from exc


def validate_config(session: Session, data: Any) -> Problems:
    """Every problem in the document, keyed by path ("order_types[1].fields[0].type")."""
    problems = Problems()
    if not isinstance(data, Mapping):
        problems.add("$", "配置文件顶层必须是映射(key: value)")
        return problems
    unknown = sorted(set(map(str, data)) - {*SECTIONS, "version", reporting.KEY})
    if unknown:
        problems.add("$", f"未知部分 {', '.join(unknown)}")
    if data.get("version", FORMAT_VERSION) != FORMAT_VERSION:
        problems.add("version", f"只支持版本 {FORMAT_VERSION}")
    known: dict[str, set[str]] = {}
    for section, model in MODELS.items():
        items = data.get(section) or []
        if not isinstance(items, list):
            problems.add(section, "必须是列表")
            continue
        in_file = {i.get("code") for i in items if isinstance(i, Mapping)}
        known[section] = set(session.scalars(select(model.code))) | {
            c for c in in_file if isinstance(c, str)
        }
    for section in SECTIONS:
        items = data.get(section) or []
        if not isinstance(items, list):
            continue
        seen: set[str] = set()
        for index, item in enumerate(items):
            path = f"{section}[{index}]"
            if not isinstance(item, Mapping):
                problems.add(path, "必须是映射")
                continue
            code = item.get("code")
            if not isinstance(code, str) or not CODE_RE.fullmatch(code):
                problems.add(f"{path}.code", "code 须为 1-32 位字母、数字、- 或 _")
            elif code in seen:
                problems.add(f"{path}.code", f"code {code} 重复")
            else:
                seen.add(code)
            check_item(section, item, path, problems, known)
    if reporting.KEY in data:
        reporting.validate(data[reporting.KEY], problems)
    return problems


def import_config(session: Session, data: Any) -> ImportResult:
    """Validate everything, then create or update by code, in the caller's transaction.

    Sections go in dependency order (lines, templates, flows before the types that name them).
    """
    validate_config(session, data).raise_if_any()
    codes = _Codes(session)
    result = ImportResult()
    for section, model in MODELS.items():
        for item in data.get(section) or []:
            row = session.scalar(select(model).where(model.code == item["code"]))
            before = None if row is None else _export_row(section, row, codes)
            if row is None:
                row = model(code=item["code"])
            # Look-ups inside must not flush a half-filled new row.
            with session.no_autoflush:
                _apply_row(section, row, item, codes)
            session.add(row)
            session.flush()
            if before is None:
                counts = result.created
            elif before != _export_row(section, row, codes):
                counts = result.updated
            else:
                counts = result.unchanged
            counts[section] = counts.get(section, 0) + 1
    if reporting.KEY in data:
        changed = reporting.save(session, data[reporting.KEY])
        counts = result.updated if changed else result.unchanged
        counts[reporting.KEY] = 1
    return result


def import_yaml(session: Session, text: str) -> ImportResult:
    return import_config(session, parse_yaml(text))


def export_record(session: Session, section: str, code: str) -> dict[str, Any] | None:
    """One record as `export_config` writes it (None when no record has that code)."""
    model = MODELS[section]
    row = session.scalar(select(model).where(model.code == code))
    return None if row is None else _export_row(section, row, _Codes(session))
