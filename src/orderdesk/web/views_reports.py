"""Reports: one page per report of reports.service (the list comes from its registry, so a
new report appears by itself), with filters (period, group-by), the table, the chart and an
xlsx download (`?format=xlsx`). The chart is the SVG reports.charts renders, served from its
own URL and shown with <img>: matplotlib's SVG carries inline styles, which the pages' CSP
(no inline style) would block inside the page but not in an image."""

from __future__ import annotations

from flask import Response, abort, render_template, request
from flask.typing import ResponseReturnValue

from orderdesk.core.errors import ValidationFailed
from orderdesk.core.formatting import attachment_disposition
from orderdesk.core.parsing import parse_day
from orderdesk.reports.charts import RENDERERS, render
from orderdesk.reports.service import REPORT_INFO, REPORTS, may_run_reports, run_report
from orderdesk.reports.table import Table
from orderdesk.reports.xlsx import table_xlsx
from orderdesk.web import bp
from orderdesk.web.auth import Page, login_required

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _filters() -> dict[str, str | None]:
    return {
        key: (request.args.get(key) or "").strip()[:16] or None
        for key in ("period", "group_by", "as_of")
    }


def _table(pg: Page, name: str, filters: dict[str, str | None]) -> Table:
    if name not in REPORTS or not may_run_reports(pg.actor):
        abort(404)
    as_of = parse_day(filters["as_of"]) if filters["as_of"] else None
    if filters["as_of"] and as_of is None:
        raise ValidationFailed("截止日期无效")
    return run_report(
        pg.session,
        actor=pg.actor,
        name=name,
        period=filters["period"],
        group_by=filters["group_by"],
        as_of=as_of,
    )


@bp.get("/m/reports")
@login_required
def reports_index(pg: Page) -> ResponseReturnValue:
    if not may_run_reports(pg.actor):
        abort(404)
    items = [(name, REPORT_INFO.get(name, (name, {}))[0]) for name in REPORTS]
    return render_template("web/reports.html", items=items)


def _download(data: bytes, mimetype: str, filename: str) -> Response:
    return Response(
        data,
        mimetype=mimetype,
        headers={"Content-Disposition": attachment_disposition(filename)},
    )


@bp.get("/m/reports/<name>")
@login_required
def report_page(pg: Page, name: str) -> ResponseReturnValue:
    filters = _filters()
    try:
        table = _table(pg, name, filters)
    except ValidationFailed as exc:
        abort(400, exc.message)
    if request.args.get("format") == "xlsx":
        return _download(table_xlsx(table), XLSX, f"{table.title}.xlsx")
    title, groups = REPORT_INFO.get(name, (name, {}))
    return render_template(
        "web/report.html",
        name=name,
        title=title,
        groups=groups,
        table=table,
        filters=filters,
        query={k: v for k, v in filters.items() if v},
        has_chart=name in RENDERERS and bool(table.rows),
    )


@bp.get("/m/reports/<name>/chart.svg")
@login_required
def report_chart(pg: Page, name: str) -> ResponseReturnValue:
    try:
        table = _table(pg, name, _filters())
    except ValidationFailed as exc:
        abort(400, exc.message)
    if name not in RENDERERS:
        abort(404)
    return Response(render(table, "svg"), mimetype="image/svg+xml")
