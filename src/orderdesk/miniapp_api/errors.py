"""Every error the API returns has one shape, and domain errors map to statuses in ONE place.

{"error": {"code": "not_found", "message": "中文说明", "fields": {"field": "..."}}}
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from orderdesk.core import errors as domain
from orderdesk.core.logs import current_request_id

log = logging.getLogger(__name__)

# Most specific first: AlreadyDecided and IllegalTransition are Conflicts.
DOMAIN_STATUS: tuple[tuple[type[domain.DomainError], int], ...] = (
    (domain.NotFound, 404),
    (domain.PermissionDenied, 403),
    (domain.ValidationFailed, 422),
    (domain.AlreadyDecided, 409),
    (domain.IllegalTransition, 409),
    (domain.Conflict, 409),
    (domain.DomainError, 400),
)

# Messages for statuses raised by the HTTP layer itself.
HTTP_MESSAGES: dict[int, tuple[str, str]] = {
    400: ("bad_request", "请求格式不正确"),
    401: ("unauthorized", "请先登录"),
    403: ("forbidden", "没有权限执行此操作"),
    404: ("not_found", "未找到"),
    405: ("method_not_allowed", "不支持此请求方法"),
    409: ("conflict", "数据已被他人修改,请刷新后重试"),
    412: ("precondition_failed", "数据已被他人修改,请刷新后重试"),
    413: ("payload_too_large", "请求内容过大"),
    415: ("unsupported_media_type", "请求内容类型不支持"),
    422: ("validation_failed", "请求参数有误"),
    428: ("precondition_required", "缺少 If-Match 请求头(订单版本号)"),
    429: ("too_many_requests", "请求过于频繁,请稍后再试"),
    500: ("internal_error", "服务器开小差了,请稍后重试"),
    502: ("upstream_error", "企业微信暂时不可用,请稍后重试"),
}


class ApiError(Exception):
    """An HTTP-layer refusal (auth, validation of the request shape, preconditions)."""

    def __init__(
        self,
        status: int,
        message: str | None = None,
        *,
        code: str | None = None,
        fields: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        default_code, default_message = HTTP_MESSAGES.get(status, ("error", "请求失败"))
        super().__init__(message or default_message)
        self.status = status
        self.code = code or default_code
        self.message = message or default_message
        self.fields = fields or {}
        self.headers = headers or {}


def error_body(code: str, message: str, fields: dict[str, str] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def error_response(
    status: int,
    code: str,
    message: str,
    fields: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    response = jsonify(error_body(code, message, fields))
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def status_for(exc: domain.DomainError) -> int:
    for cls, status in DOMAIN_STATUS:
        if isinstance(exc, cls):
            return status
    return 400


def _is_api_request() -> bool:
    return request.path.startswith("/api/")


def register(bp: Blueprint) -> None:
    """Install the handlers. App-wide ones only answer for /api/ paths (routing 404/405 happen
    before the blueprint is known, so they must be app-level)."""

    @bp.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.fields, exc.headers)

    @bp.errorhandler(domain.DomainError)
    def _domain_error(exc: domain.DomainError) -> Response:
        return error_response(status_for(exc), exc.code, exc.message, exc.fields)

    @bp.errorhandler(HTTPException)
    @bp.app_errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response | HTTPException:
        if not _is_api_request():
            return exc
        status = exc.code or 500
        code, message = HTTP_MESSAGES.get(status, ("error", "请求失败"))
        response = error_response(status, code, message)
        if status == 405 and exc.get_response().headers.get("Allow"):
            response.headers["Allow"] = exc.get_response().headers["Allow"]
        return response

    @bp.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        # Never leak internals; give the caller a reference that matches the logged traceback.
        ref = current_request_id()
        log.exception("api error ref=%s %s %s", ref, request.method, request.path)
        code, message = HTTP_MESSAGES[500]
        return error_response(500, code, f"{message}(参考编号 {ref})")
