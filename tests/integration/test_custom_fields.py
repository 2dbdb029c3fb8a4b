"""Custom field validation: a table of values per type, schema checks, and the order round trip."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orderdesk.config.fields import merge_values, validate_schema, validate_values
from orderdesk.core.errors import ValidationFailed
from orderdesk.models import Order
from orderdesk.orders import service as orders
from tests.order_world import IMPL_SCHEMA, build_world, make_order, order_data

S: dict[str, Any] = {"key": "f", "label": "字段"}

# (definition, value, stored value or None, error text or None)
CASES: list[tuple[dict[str, Any], Any, Any, str | None]] = [
    ({"type": "string", "max": 4}, " 上海 ", "上海", None),
    ({"type": "string", "max": 4}, "上海浦东新区", None, "字段最多 4 个字"),
    ({"type": "string", "min": 2}, "沪", None, "字段至少 2 个字"),
    ({"type": "string"}, "两\n行", None, "字段不能换行"),
    ({"type": "string"}, 12, None, "字段必须是文本"),
    ({"type": "string"}, "x" * 201, None, "字段最多 200 个字"),
    ({"type": "text", "max": 10}, "第一行\n第二行", "第一行\n第二行", None),
    ({"type": "number", "min": 1, "max": 100}, "42", "42", None),
    ({"type": "number"}, 7, "7", None),
    ({"type": "number"}, "1.50", "1.5", None),
    ({"type": "number"}, "1e3", "1000", None),
    ({"type": "number", "min": 1}, "0", None, "字段不能小于 1"),
    ({"type": "number", "max": 100}, "100.01", None, "字段不能大于 100"),
    ({"type": "number"}, "abc", None, "字段必须是数字"),
    ({"type": "number"}, "NaN", None, "字段必须是数字"),
    ({"type": "number"}, True, None, "字段必须是数字"),
    # Bounded digits and exponent (issue 10): "1e10000000" stored a 10 MB string twice.
    ({"type": "number"}, "1e10000000", None, "字段超出范围(最多 16 位整数、8 位小数)"),
    ({"type": "number"}, "1e999999999", None, "字段超出范围(最多 16 位整数、8 位小数)"),
    ({"type": "number"}, "1e-30", None, "字段超出范围(最多 16 位整数、8 位小数)"),
    ({"type": "number"}, "9" * 17, None, "字段超出范围(最多 16 位整数、8 位小数)"),
    ({"type": "number"}, 10**40, None, "字段超出范围(最多 16 位整数、8 位小数)"),
    ({"type": "number"}, 1e300, None, "字段超出范围(最多 16 位整数、8 位小数)"),
    ({"type": "number"}, "１００", None, "字段必须是数字"),
    ({"type": "money"}, "1e30", None, "字段超出范围(最多 16 位整数、8 位小数)"),
    ({"type": "money"}, "1,234.5", "1234.50", None),
    ({"type": "money"}, Decimal("0.1"), "0.10", None),
    ({"type": "money"}, 0.1, "0.10", None),  # a JSON float is read from its text, not binary
    ({"type": "money"}, "1.005", None, "字段最多两位小数"),
    ({"type": "money", "min": "100"}, "99.99", None, "字段不能小于 100"),
    ({"type": "money", "max": "500000"}, "500000.01", None, "字段不能大于 500000"),
    ({"type": "date"}, "2026-03-01", "2026-03-01", None),
    ({"type": "date"}, date(2026, 3, 1), "2026-03-01", None),
    ({"type": "date"}, "2026/03/01", None, "字段必须是日期,格式 YYYY-MM-DD,1990 至 2100 年"),
    # One format, sane years (issue 10): fromisoformat alone read all of these.
    ({"type": "date"}, "0001-01-01", None, "字段必须是日期,格式 YYYY-MM-DD,1990 至 2100 年"),
    ({"type": "date"}, "2026W011", None, "字段必须是日期,格式 YYYY-MM-DD,1990 至 2100 年"),
    ({"type": "date"}, "20260101", None, "字段必须是日期,格式 YYYY-MM-DD,1990 至 2100 年"),
    ({"type": "date"}, "２０２６-01-01", None, "字段必须是日期,格式 YYYY-MM-DD,1990 至 2100 年"),
    ({"type": "date"}, "2101-01-01", None, "字段必须是日期,格式 YYYY-MM-DD,1990 至 2100 年"),
    ({"type": "date", "min": "2026-01-01"}, "2025-12-31", None, "字段不能早于 2026-01-01"),
    ({"type": "date", "max": "2026-12-31"}, "2027-01-01", None, "字段不能晚于 2026-12-31"),
    ({"type": "enum", "options": ["标准", "高级"]}, "高级", "高级", None),
    ({"type": "enum", "options": ["标准", "高级"]}, "豪华", None, "字段只能是:标准、高级"),
    ({"type": "user"}, 42, None, "字段必须是文本"),
]


@pytest.mark.parametrize(("definition", "value", "stored", "error"), CASES)
def test_value_table(
    definition: dict[str, Any], value: Any, stored: Any, error: str | None
) -> None:
    schema = [{**S, **definition}]
    if error is None:
        assert validate_values(schema, {"f": value}) == {"f": stored}
    else:
        with pytest.raises(ValidationFailed) as err:
            validate_values(schema, {"f": value})
        assert err.value.fields == {"f": error}


def test_user_fields_name_an_active_staff_member(session: Session, rt: object) -> None:
    world = build_world(session)
    schema = [{**S, "type": "user"}]
    assert validate_values(schema, {"f": "sales2"}, session=session) == {"f": "sales2"}
    world.sales2.active = False
    session.flush()
    for userid in ("sales2", "nobody"):
        with pytest.raises(ValidationFailed) as err:
            validate_values(schema, {"f": userid}, session=session)
        assert err.value.fields == {"f": f"字段:找不到人员 {userid}"}


def test_required_unknown_and_empty() -> None:
    schema = [{**S, "type": "string", "required": True}, {"key": "g", "label": "G", "type": "text"}]
    with pytest.raises(ValidationFailed) as err:
        validate_values(schema, {"f": "  ", "zzz": 1})
    assert err.value.fields == {"f": "字段为必填项", "zzz": "未知字段 zzz"}
    assert validate_values(schema, {"f": "ok", "g": ""}) == {"f": "ok"}


def test_merge_applies_partial_changes_and_revalidates() -> None:
    schema = [
        {**S, "type": "string", "required": True},
        {"key": "n", "label": "N", "type": "number"},
    ]
    assert merge_values(schema, {"f": "a", "n": "1"}, {"n": "2"}) == {"f": "a", "n": "2"}
    assert merge_values(schema, {"f": "a", "n": "1"}, {"n": None}) == {"f": "a"}
    with pytest.raises(ValidationFailed) as err:
        merge_values(schema, {"f": "a"}, {"f": None})
    assert err.value.fields == {"f": "字段为必填项"}


@pytest.mark.parametrize(
    ("schema", "path", "needle"),
    [
        ("nope", "fields", "列表"),
        ([{"key": "Bad Key", "label": "x", "type": "string"}], "fields[0].key", "小写字母"),
        ([{"key": "a", "label": "", "type": "string"}], "fields[0].label", "不能为空"),
        ([{"key": "a", "label": "A", "type": "float"}], "fields[0].type", "未知类型"),
        ([{"key": "a", "label": "A", "type": "enum"}], "fields[0].options", "options"),
        (
            [{"key": "a", "label": "A", "type": "enum", "options": ["x", "x"]}],
            "fields[0].options",
            "重复",
        ),
        (
            [{"key": "a", "label": "A", "type": "string", "options": ["x"]}],
            "fields[0].options",
            "只有选项",
        ),
        ([{"key": "a", "label": "A", "type": "string", "min": -1}], "fields[0].min", "非负整数"),
        (
            [{"key": "a", "label": "A", "type": "number", "min": 5, "max": 1}],
            "fields[0].min",
            "不能大于",
        ),
        ([{"key": "a", "label": "A", "type": "date", "max": "tomorrow"}], "fields[0].max", "日期"),
        ([{"key": "a", "label": "A", "type": "user", "max": 3}], "fields[0].max", "不支持"),
        (
            [{"key": "a", "label": "A", "type": "string", "required": "yes"}],
            "fields[0].required",
            "true",
        ),
        ([{"key": "a", "label": "A", "type": "string", "colour": "red"}], "fields[0]", "未知属性"),
        (
            [
                {"key": "a", "label": "A", "type": "string"},
                {"key": "a", "label": "B", "type": "text"},
            ],
            "fields[1].key",
            "重复",
        ),
    ],
)
def test_schema_errors(schema: Any, path: str, needle: str) -> None:
    errors = validate_schema(schema)
    assert path in errors and needle in errors[path], errors


def test_the_example_schema_is_valid() -> None:
    assert validate_schema(IMPL_SCHEMA) == {}


def test_order_create_and_update_validate_custom_fields(session: Session, rt: object) -> None:
    world = build_world(session)
    bad = order_data(custom_fields={"users": "0", "level": "豪华", "colour": "red"})
    with pytest.raises(ValidationFailed) as err:
        orders.create_order(session, actor=world.sales1, data=bad)
    assert err.value.fields == {
        "custom_fields.site": "实施地点为必填项",
        "custom_fields.users": "用户数不能小于 1",
        "custom_fields.level": "服务级别只能是:标准、高级",
        "custom_fields.colour": "未知字段 colour",
    }
    session.rollback()
    assert session.scalar(select(func.count(Order.id))) == 0
    order = make_order(session, world.sales1, custom_fields={"site": "上海", "budget": "80000"})
    assert order.custom_fields == {"site": "上海", "budget": "80000.00"}
    with pytest.raises(ValidationFailed) as err:
        orders.update_order(
            session,
            actor=world.sales1,
            number=order.number,
            changes={"custom_fields": {"go_live": "2025-06-01"}},
            expected_version=order.version,
        )
    assert err.value.fields == {"custom_fields.go_live": "上线日期不能早于 2026-01-01"}
    session.rollback()
    orders.update_order(
        session,
        actor=world.sales1,
        number=order.number,
        changes={"custom_fields": {"go_live": "2026-06-01", "tech_lead": "pm1"}},
        expected_version=order.version,
    )
    session.commit()
    assert order.custom_fields == {
        "site": "上海",
        "budget": "80000.00",
        "go_live": "2026-06-01",
        "tech_lead": "pm1",
    }
