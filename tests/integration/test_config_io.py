"""Configuration export/import: exact round trip, all-or-nothing validation, the CLI."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orderdesk.config.yaml_io import export_config, export_yaml, import_config, import_yaml
from orderdesk.core.errors import ValidationFailed
from orderdesk.models import (
    ApprovalFlow,
    ApprovalStep,
    BusinessLine,
    OrderType,
    ProjectTemplate,
    ServiceItem,
)
from orderdesk.runtime import Runtime
from tests.order_world import IMPL_SCHEMA

MODELS = (BusinessLine, ProjectTemplate, ApprovalFlow, ApprovalStep, ServiceItem, OrderType)


def _arrange(session: Session) -> None:
    line = BusinessLine(code="impl", name="实施")
    template = ProjectTemplate(
        code="impl-std",
        name="标准实施",
        tasks=[
            {"title": "需求调研", "offset_days": 7, "owner_role": "pm"},
            {"title": "上线部署", "offset_days": 30, "owner_role": "delivery"},
        ],
        milestones=[{"name": "上线", "offset_days": 30}, {"name": "验收", "offset_days": 45}],
    )
    flow = ApprovalFlow(
        code="impl-std",
        name="实施标准审批",
        min_amount=Decimal("0.00"),
        max_amount=Decimal("500000.00"),
        conditions={"discount_above": "0.10"},
        priority=5,
        remind_after_hours=8,
        escalate_after_hours=24,
        steps=[
            ApprovalStep(sequence=1, name="销售经理", approver_kind="owner_manager", mode="any"),
            ApprovalStep(
                sequence=2,
                name="财务",
                approver_kind="role",
                approver_value="finance",
                mode="all",
                min_amount=Decimal("50000.00"),
            ),
        ],
    )
    item = ServiceItem(
        code="consult",
        name="咨询服务",
        unit="人天",
        unit_price=Decimal("2000.00"),
        cost_estimate=Decimal("800.50"),
        billing_method="time_and_materials",
    )
    otype = OrderType(
        code="impl",
        name="实施项目",
        business_line=line,
        field_schema=IMPL_SCHEMA,
        default_billing_method="milestone",
        approval_flow=flow,
        project_template=template,
    )
    session.add_all([line, template])
    session.flush()
    flow.business_line_id = line.id
    item.business_line_id = line.id
    session.add_all([flow, item, otype])
    session.commit()


def _counts(session: Session) -> list[int]:
    return [int(session.scalar(select(func.count()).select_from(m)) or 0) for m in MODELS]


def _wipe(rt: Runtime) -> None:
    with rt.db.transaction() as s:
        for model in (
            OrderType,
            ServiceItem,
            ApprovalStep,
            ApprovalFlow,
            ProjectTemplate,
            BusinessLine,
        ):
            s.query(model).delete()


def test_export_import_round_trips_exactly(session: Session, rt: Runtime) -> None:
    _arrange(session)
    text = export_yaml(session)
    data = yaml.safe_load(text)
    assert data["service_items"][0]["unit_price"] == "2000.00"  # money as text, never float
    assert data["order_types"][0]["approval_flow"] == "impl-std"
    assert [s["sequence"] for s in data["approval_flows"][0]["steps"]] == [1, 2]
    session.close()
    # Into an empty database: the same export comes back.
    _wipe(rt)
    with rt.db.transaction() as s:
        result = import_yaml(s, text)
    assert result.created == {
        "business_lines": 1,
        "project_templates": 1,
        "approval_flows": 1,
        "service_items": 1,
        "order_types": 1,
    }
    with rt.db.transaction() as s:
        assert export_yaml(s) == text
        # Importing it again changes nothing.
        again = import_yaml(s, text)
        assert again.created == {} and again.updated == {}
        assert sum(again.unchanged.values()) == 5
    with rt.db.transaction() as s:
        assert export_yaml(s) == text


def test_import_updates_by_code_and_replaces_steps(session: Session, rt: Runtime) -> None:
    _arrange(session)
    data = export_config(session)
    data["approval_flows"][0]["steps"] = [
        {"sequence": 1, "name": "总经理", "approver_kind": "role", "approver_value": "gm"}
    ]
    data["service_items"][0]["unit_price"] = "2200.00"
    data["service_items"].append(
        {"code": "license", "name": "软件许可", "unit_price": 10000, "billing_method": "fixed"}
    )
    result = import_config(session, data)
    session.commit()
    assert result.updated == {"approval_flows": 1, "service_items": 1}
    assert result.created == {"service_items": 1}
    flow = session.scalars(select(ApprovalFlow)).one()
    assert [(s.sequence, s.approver_value) for s in flow.steps] == [(1, "gm")]
    assert session.scalar(select(func.count(ApprovalStep.id))) == 1
    rows = session.execute(select(ServiceItem.code, ServiceItem.unit_price)).all()
    prices = {code: price for code, price in rows}
    assert prices == {"consult": Decimal("2200.00"), "license": Decimal("10000.00")}


BAD: list[tuple[str, Any, str]] = [
    ("order_types[0].fields[0].type", "float", "未知类型"),
    ("order_types[0].approval_flow", "missing-flow", "找不到 missing-flow"),
    ("service_items[0].unit_price", "12.345", "两位小数"),
    ("service_items[0].billing_method", "barter", "须为"),
    ("approval_flows[0].steps[1].approver_value", "boss", "角色须为"),
    ("approval_flows[0].steps[0].mode", "some", "any 或 all"),
    ("approval_flows[0].escalate_after_hours", 2, "不能早于提醒时间"),
    ("approval_flows[0].conditions.order_types", ["nope"], "找不到订单类型 nope"),
    ("project_templates[0].tasks[0].owner_role", "ceo", "角色须为"),
    ("project_templates[0].milestones[0].offset_days", "soon", "整数"),
    ("business_lines[0].name", "", "不能为空"),
]


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    """Set the value at an `order_types[0].fields[0].type`-style path."""
    target: Any = data
    parts = path.replace("]", "").replace("[", ".").split(".")
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    target[parts[-1]] = value


def test_invalid_import_reports_everything_and_changes_nothing(
    session: Session, rt: Runtime
) -> None:
    _arrange(session)
    data = export_config(session)
    before = export_yaml(session)
    for path, value, _ in BAD:
        _set(data, path, value)
    data["order_types"].append({"code": "impl", "name": "重复的"})
    data["service_items"].append({"code": "bad code!", "name": "x", "unit_price": "1"})
    data["colour"] = "red"
    data["service_items"][0]["rogue"] = True
    with pytest.raises(ValidationFailed) as err:
        import_config(session, data)
    fields = err.value.fields
    for path, _, needle in BAD:
        assert path in fields and needle in fields[path], (path, fields.get(path))
    assert "重复" in fields["order_types[1].code"]
    assert "code" in fields["service_items[1].code"]
    assert "未知部分 colour" in fields["$"]
    assert "rogue" in fields["service_items[0]"]
    assert err.value.message.startswith(f"配置有 {len(fields)} 处错误,未做任何修改")
    session.rollback()
    assert export_yaml(session) == before


def test_bad_yaml_and_wrong_shapes(session: Session, rt: Runtime) -> None:
    with pytest.raises(ValidationFailed) as err:
        import_yaml(session, "order_types: [\n")
    assert "YAML 格式错误" in err.value.message
    for text, path in (
        ("- a\n- b\n", "$"),
        ("order_types: 3\n", "order_types"),
        ("version: 2\n", "version"),
    ):
        with pytest.raises(ValidationFailed) as err:
            import_yaml(session, text)
        assert path in err.value.fields
    assert _counts(session) == [0] * len(MODELS)


def test_cli_export_then_import(
    rt: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orderdesk.cli import main

    with rt.db.transaction() as s:
        _arrange(s)
    env = {
        "DATABASE_URL": rt.settings.database_url,
        "REDIS_URL": rt.settings.redis_url,
        "REDIS_NAMESPACE": rt.settings.redis_namespace,
        "JOBS_SYNC": "true",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    runner = CliRunner()
    out = tmp_path / "config.yaml"
    done = runner.invoke(main, ["config", "export", str(out)])
    assert done.exit_code == 0, done.output
    exported = out.read_text(encoding="utf-8")
    assert "实施项目" in exported
    broken = tmp_path / "broken.yaml"
    broken.write_text(exported.replace("time_and_materials", "barter"), encoding="utf-8")
    failed = runner.invoke(main, ["config", "import", str(broken)])
    assert failed.exit_code == 1
    assert "service_items[0].billing_method" in failed.output
    dry = runner.invoke(main, ["config", "import", "--dry-run", str(out)])
    assert dry.exit_code == 0 and "试运行" in dry.output
    _wipe(rt)
    done = runner.invoke(main, ["config", "import", str(out)])
    assert done.exit_code == 0 and "新增 1" in done.output, done.output
    with rt.db.transaction() as s:
        assert export_yaml(s) == exported
