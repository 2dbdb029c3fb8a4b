"""Editing one configuration record from a screen: preview (before -> after, every problem),
then save after a confirm.

A screen edit is a one-record configuration document: it is validated by `validate_config` and
written by `import_config`, exactly like `orderdesk config import`, so a rule lives in one
place. The preview carries a fingerprint of the record as it was; saving refuses when the record
changed in between (someone else saved first), so a confirm never overwrites unseen changes.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.config.fields import FIELD_TYPES
from orderdesk.config.rules import FORMAT_VERSION
from orderdesk.config.yaml_io import (
    MODELS,
    ImportResult,
    dump_yaml,
    export_record,
    import_config,
    parse_yaml,
    validate_config,
)
from orderdesk.core.errors import Conflict, NotFound, ValidationFailed
from orderdesk.core.locks import lock_row, take_write_lock
from orderdesk.models import Staff
from orderdesk.orders import timeline

# The sections an admin edits on screen, with their Chinese names.
SECTIONS_ZH = {
    "order_types": "订单类型与自定义字段",
    "approval_flows": "审批流",
    "project_templates": "项目模板",
}
# What a new record starts from: the smallest valid-looking skeleton of each section.
SKELETONS: dict[str, dict[str, Any]] = {
    "order_types": {"code": "", "name": "", "active": True, "fields": []},
    "approval_flows": {
        "code": "",
        "name": "",
        "min_amount": None,
        "max_amount": None,
        "priority": 0,
        "remind_after_hours": 24,
        "escalate_after_hours": 48,
        "active": True,
        "steps": [{"sequence": 1, "name": "部门经理", "approver_kind": "department_head"}],
    },
    "project_templates": {"code": "", "name": "", "tasks": [], "milestones": []},
}


def is_admin(actor: Staff) -> bool:
    """Configuration (and staff) is the admin's to change."""
    return actor.has_role("admin")


def require_admin(actor: Staff) -> None:
    """To anyone but an admin the configuration screens do not exist."""
    if not is_admin(actor):
        raise NotFound("页面不存在")


def check_section(section: str) -> None:
    if section not in SECTIONS_ZH:
        raise NotFound("页面不存在")


@dataclass
class Preview:
    """A proposed record next to the current one; `problems` empty means it may be saved."""

    section: str
    code: str
    before: str
    after: str
    token: str
    problems: dict[str, str] = field(default_factory=dict)

    @property
    def diff(self) -> list[str]:
        """Unified diff lines (before -> after), without the file headers."""
        lines = difflib.unified_diff(
            self.before.splitlines(), self.after.splitlines(), lineterm="", n=2
        )
        return [line for line in lines if not line.startswith(("---", "+++"))]

    @property
    def changed(self) -> bool:
        return self.before != self.after


def list_records(session: Session, section: str) -> list[Any]:
    """The section's records by code (rows with `code`, `name` and, where kept, `active`)."""
    check_section(section)
    model = MODELS[section]
    return list(session.scalars(select(model).order_by(model.code)))


def record_yaml(session: Session, section: str, code: str) -> str:
    """The record as YAML ("" when there is none: a new record)."""
    check_section(section)
    item = export_record(session, section, code)
    return "" if item is None else dump_yaml(item)


def skeleton_yaml(section: str) -> str:
    check_section(section)
    return dump_yaml(SKELETONS[section])


def fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def parse_record(text: str) -> Any:
    """The YAML an admin typed; a YAML error reads as a problem, like in `config import`."""
    return parse_yaml(text)


def preview(session: Session, *, section: str, code: str | None, item: Any) -> Preview:
    """Validate `item` as a one-record document; `code` is the record edited (None: new)."""
    check_section(section)
    before = record_yaml(session, section, code) if code else ""
    problems: dict[str, str] = {}
    if not isinstance(item, Mapping):
        problems["$"] = "须为一条记录(key: value 的映射)"
        return Preview(section, code or "", before, "", fingerprint(before), problems)
    new_code = item.get("code")
    if code and new_code != code:
        problems["code"] = f"code 不能修改(应为 {code});要新建请用「新建」"
    elif not code and isinstance(new_code, str) and _exists(session, section, new_code):
        problems["code"] = f"code {new_code} 已存在"
    found = validate_config(session, {"version": FORMAT_VERSION, section: [dict(item)]})
    prefix = f"{section}[0]."
    for path, message in found.items.items():
        problems.setdefault(path.removeprefix(prefix), message)
    after = dump_yaml(dict(item))
    return Preview(
        section, str(new_code or code or ""), before, after, fingerprint(before), problems
    )


def _exists(session: Session, section: str, code: str) -> bool:
    model = MODELS[section]
    return session.scalar(select(model.id).where(model.code == code)) is not None


def save(
    session: Session, *, actor: Staff, section: str, code: str | None, item: Any, token: str
) -> ImportResult:
    """Save a previewed record, in the caller's transaction. Refuses (and writes nothing) when
    the record changed since the preview or the record is invalid."""
    require_admin(actor)
    _lock(session, section, code)
    result = preview(session, section=section, code=code, item=item)
    if result.token != token:
        raise Conflict("配置已被他人修改,请重新预览后再保存")
    if result.problems:
        raise ValidationFailed(_listing(result.problems), fields=result.problems)
    imported = import_config(session, {"version": FORMAT_VERSION, section: [dict(item)]})
    # Who changed the configuration, and how: the diff the admin confirmed.
    timeline.record(
        session,
        kind="updated",
        actor=actor,
        body=f"{actor.name} 修改了{SECTIONS_ZH[section]} {result.code}",
        data={"config": section, "code": result.code, "diff": result.diff},
    )
    return imported


def _lock(session: Session, section: str, code: str | None) -> None:
    """Lock the record (or, for a new one, the table on SQLite) so two confirms of the same
    record are serialised and the second one sees the first one's save (then refuses)."""
    model = MODELS[section]
    row_id = session.scalar(select(model.id).where(model.code == code)) if code else None
    if row_id is None:
        take_write_lock(session, model)
    else:
        lock_row(session, model, row_id)


def _listing(problems: Mapping[str, str]) -> str:
    lines = "\n".join(f"- {path}: {msg}" for path, msg in problems.items())
    return f"配置有 {len(problems)} 处错误,未做任何修改:\n{lines}"


# ---------------------------------------------------------------- custom fields of an order type


def field_from_form(form: Mapping[str, str]) -> dict[str, Any]:
    """A field definition from the admin's form (key, label, type, required, options). Values
    are passed on as typed: the schema validation says what is wrong with them."""
    definition: dict[str, Any] = {
        "key": (form.get("key") or "").strip(),
        "label": (form.get("label") or "").strip(),
        "type": (form.get("type") or "").strip(),
    }
    if form.get("required"):
        definition["required"] = True
    raw = (form.get("options") or "").replace(",", ",").replace("\n", ",")
    options = [o.strip() for o in raw.split(",") if o.strip()]
    if options:
        definition["options"] = options
    return definition


def with_field(item: Mapping[str, Any], definition: Mapping[str, Any]) -> dict[str, Any]:
    """The order type with `definition` added, or replacing the field of the same key."""
    fields = [dict(f) for f in item.get("fields") or [] if isinstance(f, Mapping)]
    for index, old in enumerate(fields):
        if old.get("key") == definition.get("key"):
            fields[index] = {**old, **definition}
            if "options" not in definition:
                fields[index].pop("options", None)
            if "required" not in definition:
                fields[index].pop("required", None)
            break
    else:
        fields.append(dict(definition))
    return {**item, "fields": fields}


def without_field(item: Mapping[str, Any], key: str) -> dict[str, Any]:
    fields = [f for f in item.get("fields") or [] if f.get("key") != key]
    return {**item, "fields": fields}


__all__ = [
    "FIELD_TYPES",
    "SECTIONS_ZH",
    "Preview",
    "field_from_form",
    "fingerprint",
    "is_admin",
    "list_records",
    "parse_record",
    "preview",
    "record_yaml",
    "require_admin",
    "save",
    "skeleton_yaml",
    "with_field",
    "without_field",
]
