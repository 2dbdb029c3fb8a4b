"""Reports (issue 13): `GET /reports/{name}` as JSON, or `?format=xlsx` as the same table in a
workbook. Figures are scoped by the caller inside the reports domain (sales own, managers their
team, finance / gm / admin all)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Response

from orderdesk.core.formatting import attachment_disposition
from orderdesk.core.parsing import DAY_RULE_ZH, parse_day
from orderdesk.exports.service import KINDS, export
from orderdesk.miniapp_api.errors import ApiError
from orderdesk.miniapp_api.registry import Ctx, Reply, endpoint
from orderdesk.miniapp_api.schemas import DATE_PATTERN, STR, array, obj
from orderdesk.reports.charts import render
from orderdesk.reports.service import REPORTS, run_report
from orderdesk.reports.table import Table
from orderdesk.reports.xlsx import table_xlsx

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHART_TYPES = {"png": "image/png", "svg": "image/svg+xml"}
CELL = {"type": ["string", "integer", "null"]}
REPORT = obj(
    {
        "name": STR,
        "title": STR,
        "columns": array(obj({"key": STR, "title": STR, "money": {"type": "boolean"}})),
        "rows": array({"type": "object", "additionalProperties": CELL}),
        "totals": {"type": "object", "additionalProperties": CELL},
    }
)


def _cell(value: Any) -> Any:
    # Money and rates as strings: JSON numbers would lose the exact Decimal.
    if isinstance(value, Decimal):
        return str(value)
    return value


def table_json(table: Table) -> dict[str, Any]:
    return {
        "name": table.name,
        "title": table.title,
        "columns": [{"key": c.key, "title": c.title, "money": c.money} for c in table.columns],
        "rows": [{k: _cell(v) for k, v in row.items()} for row in table.rows],
        "totals": {k: _cell(v) for k, v in table.totals.items()},
    }


GROUP_BY = sorted({g for r in REPORTS.values() for g in r.group_by})


@endpoint(
    "GET",
    "/reports/<name>",
    tag="reports",
    summary="报表(账龄、签约开票回款、回款率与DSO、项目利润、利用率、销售漏斗、排行榜)",
    description=(
        "按调用者范围统计:销售看自己的,经理看本部门/下属的,财务、总经理看全部。"
        "ar-aging: group_by = customer | owner | business_line, as_of = 截止日 (默认今天)。"
        "revenue: period = 2026-11 | 2026Q4 | 2026 (默认本月),按 月份×业务线。"
        "collection: period;每月应收、回款、回款率、开票、期末应收余额与 DSO。"
        "profitability: group_by = project | business_line, project = PRJ-… 或订单号;"
        "合同额(不含税) − 人工成本 − 项目费用 = 毛利、毛利率,预算与已登记工时。"
        "utilisation: period (默认本月), group_by = person | department, as_of;"
        "已登记工时 ÷ 可用工时(工作日 × 每日工时)。"
        "pipeline: 商机按阶段的数量、预计金额与赢单率。leaderboard: period;签约额与回款额排行。"
        "format=xlsx 返回同一张表的 Excel 工作簿;png / svg 返回图表。"
    ),
    path_schemas={"name": {"type": "string", "enum": list(REPORTS)}},
    query={
        "type": "object",
        "properties": {
            "period": {"type": "string", "maxLength": 16},
            "group_by": {"type": "string", "enum": GROUP_BY},
            "as_of": {"type": "string", "pattern": DATE_PATTERN},
            "project": {"type": "string", "maxLength": 32},
            "format": {"type": "string", "enum": ["json", "xlsx", "png", "svg"]},
        },
    },
    responses={200: REPORT},
    downloads=(XLSX, *CHART_TYPES.values()),
    errors=(404,),
)
def report(ctx: Ctx, name: str) -> Reply:
    as_of = ctx.query.get("as_of")
    table = run_report(
        ctx.session,
        actor=ctx.actor,
        name=name,
        period=ctx.query.get("period"),
        group_by=ctx.query.get("group_by"),
        as_of=_day(as_of) if as_of else None,
        project=ctx.query.get("project"),
    )
    fmt = ctx.query.get("format", "json")
    if fmt == "json":
        return table_json(table)
    if fmt == "xlsx":
        data, mimetype = table_xlsx(table), XLSX
    else:
        data, mimetype = render(table, fmt), CHART_TYPES[fmt]
    return Response(
        data,
        mimetype=mimetype,
        headers={"Content-Disposition": attachment_disposition(f"{table.title}.{fmt}")},
    )


def _day(text: str, field: str = "as_of") -> date:
    day = parse_day(text)
    if day is None:
        raise ApiError(422, fields={field: DAY_RULE_ZH})
    return day


EXPORT_TYPES = {"xlsx": XLSX, "csv": "text/csv"}


@endpoint(
    "GET",
    "/exports/<kind>",
    tag="reports",
    summary="导出(订单、回款、发票、工时、账龄、记账凭证)",
    description="财务、总经理、管理员可用。期间 from..to 含首尾;CSV 为带 BOM 的 UTF-8。",
    path_schemas={"kind": {"type": "string", "enum": list(KINDS)}},
    query={
        "type": "object",
        "required": ["from", "to"],
        "properties": {
            "from": {"type": "string", "pattern": DATE_PATTERN},
            "to": {"type": "string", "pattern": DATE_PATTERN},
            "format": {"type": "string", "enum": list(EXPORT_TYPES)},
        },
    },
    responses={200: None},
    downloads=tuple(EXPORT_TYPES.values()),
    errors=(403, 404),
)
def export_download(ctx: Ctx, kind: str) -> Reply:
    fmt = ctx.query.get("format", "xlsx")
    start, end = _day(ctx.query["from"], "from"), _day(ctx.query["to"], "to")
    handle, name = tempfile.mkstemp(suffix=f".{fmt}")
    os.close(handle)
    path = Path(name)
    try:
        export(
            ctx.session,
            actor=ctx.actor,
            kind=kind,
            date_from=start,
            date_to=end,
            fmt=fmt,
            path=path,
        )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    filename = f"{kind}_{start:%Y%m%d}_{end:%Y%m%d}.{fmt}"
    return Response(
        _stream_and_remove(path),
        mimetype=EXPORT_TYPES[fmt],
        headers={"Content-Disposition": attachment_disposition(filename)},
    )


def _stream_and_remove(path: Path) -> Iterator[bytes]:
    """Send the file in chunks (a big export never sits in memory), then delete it."""
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(256 * 1024):
                yield chunk
    finally:
        path.unlink(missing_ok=True)
