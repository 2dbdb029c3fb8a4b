"""What templates may call: formatting only, never a rule (rules stay in the domains)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, current_app, g, render_template
from werkzeug.exceptions import HTTPException

from orderdesk.core.formatting import money
from orderdesk.directory.messages import CONTRACT_STATUS_ZH
from orderdesk.directory.opportunities import STAGE_ZH
from orderdesk.directory.permissions import can_see_money
from orderdesk.models import Activity
from orderdesk.models.order import ORDER_STATUS_ZH
from orderdesk.money.invoices import KIND_ZH
from orderdesk.orders.timeline import body_for_reader
from orderdesk.reports.service import may_run_reports
from orderdesk.web.auth import csrf_for, runtime

REQUEST_STATUS_ZH = {
    "pending": "审批中",
    "approved": "已通过",
    "rejected": "已驳回",
    "withdrawn": "已撤回",
}
INVOICE_STATUS_ZH = {"issued": "已开具", "void": "已作废", "reversed": "已红冲", "red": "红字发票"}
ERROR_TITLES = {400: "请求有误", 401: "请重新登录", 403: "无权访问", 404: "页面不存在"}


def _local(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.astimezone(runtime().settings.tz).strftime("%Y-%m-%d %H:%M")


def _csrf_token() -> str:
    page = g.get("page")
    return csrf_for(runtime(), page.web_session.sid) if page else ""


def _has_page(endpoint: str) -> bool:
    # Pages built on other branches (e.g. /m/contracts/new) are linked once they exist.
    return endpoint in current_app.view_functions


def _reader_body(activity: Activity) -> str:
    return body_for_reader(activity, g.page.actor)


def install(bp: Blueprint) -> None:
    @bp.context_processor
    def _helpers() -> dict[str, Any]:
        return {
            "yuan": money,
            "can_see_money": can_see_money,
            "status_zh": lambda s: ORDER_STATUS_ZH.get(s, s),
            "approval_zh": lambda s: REQUEST_STATUS_ZH.get(s, s),
            "local": _local,
            "csrf_token": _csrf_token,
            "has_page": _has_page,
            "may_run_reports": may_run_reports,
            "reader_body": _reader_body,
            "contract_zh": lambda s: CONTRACT_STATUS_ZH.get(s, s),
            "stage_zh": lambda s: STAGE_ZH.get(s, s),
            "invoice_kinds": KIND_ZH,
            "invoice_kind_zh": lambda s: KIND_ZH.get(s, s),
            "invoice_status_zh": lambda s: INVOICE_STATUS_ZH.get(s, s),
        }

    @bp.errorhandler(HTTPException)
    def _error_page(exc: HTTPException) -> Any:
        code = exc.code or 500
        # A 404 says nothing about what was asked for: out of scope reads like missing.
        message = "找不到这个页面,或您无权查看。" if code == 404 else (exc.description or "")
        title = ERROR_TITLES.get(code, "出错了")
        return render_template("web/error.html", code=code, title=title, message=message), code
