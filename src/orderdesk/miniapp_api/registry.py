"""Each endpoint declares its contract next to its code; the same declaration drives request
validation, authentication and the OpenAPI document (openapi.py), so they cannot drift apart.

    @endpoint("GET", "/orders/<no>", tag="orders", summary="订单详情",
              responses={200: ref("OrderDetail")}, errors=(404,))
    def order_detail(ctx: Ctx, no: str) -> Reply: ...
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, current_app, jsonify, request
from sqlalchemy import event
from sqlalchemy.orm import Session

from orderdesk.core.ratelimit import DEFAULT_LOGIN_LIMIT, LoginLimiter
from orderdesk.directory import sessions
from orderdesk.miniapp_api import tokens
from orderdesk.miniapp_api.errors import ApiError
from orderdesk.miniapp_api.schemas import ID, MAX_ID
from orderdesk.miniapp_api.validation import (
    coerce_query,
    control_characters,
    nesting_depth,
    validate,
)
from orderdesk.models import Activity, ApiSession, Staff
from orderdesk.runtime import Runtime

MAX_JSON_BYTES = 1024 * 1024
# Deeper than any body we accept (order -> lines -> line -> value is 3); the parser and the
# validators recurse, so a deeper body is refused before they see it.
MAX_JSON_DEPTH = 32

# What a handler returns: a JSON payload (200), (payload, status), (payload, status, headers),
# or None for 204 No Content.
Reply = (
    dict[str, Any]
    | tuple[dict[str, Any], int]
    | tuple[dict[str, Any], int, dict[str, str]]
    | Response  # a file download (declared in `downloads`)
)
Handler = Callable[..., Reply | None]


@dataclass
class Ctx:
    """Everything a handler may use; the transaction is the request's (committed on success)."""

    rt: Runtime
    session: Session
    actor_or_none: Staff | None
    api_session: ApiSession | None
    query: dict[str, Any]
    body: dict[str, Any]
    ip: str | None
    user_agent: str | None

    @property
    def actor(self) -> Staff:
        if self.actor_or_none is None:  # only public endpoints run without an actor
            raise ApiError(401)
        return self.actor_or_none

    @property
    def tz(self) -> ZoneInfo:
        return self.rt.settings.tz


@dataclass
class Operation:
    method: str
    rule: str
    handler: Handler
    tag: str
    summary: str
    description: str = ""
    auth: bool = True
    login: bool = False
    query: dict[str, Any] | None = None
    body: dict[str, Any] | None = None
    multipart: dict[str, Any] | None = None
    responses: dict[int, dict[str, Any] | None] = field(default_factory=dict)
    errors: tuple[int, ...] = ()
    if_match: bool = False
    path_schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Other media types the 200 answer may take (file downloads: the handler returns a Response).
    downloads: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.handler.__name__

    @property
    def openapi_path(self) -> str:
        return re.sub(r"<(?:[a-z]+:)?([a-zA-Z_]+)>", r"{\1}", self.rule)

    def path_params(self) -> list[tuple[str, dict[str, Any]]]:
        params = []
        for conv, name in re.findall(r"<(?:([a-z]+):)?([a-zA-Z_]+)>", self.rule):
            schema = self.path_schemas.get(name)
            if schema is None:
                schema = (
                    ID if conv == "int" else {"type": "string", "minLength": 1, "maxLength": 64}
                )
            params.append((name, schema))
        return params

    def error_statuses(self) -> list[int]:
        # 422 everywhere: unknown query parameters are refused on every operation.
        statuses = {*self.errors, 422}
        if self.auth:
            statuses.add(401)
        if self.login:
            statuses.add(429)
        if self.body is not None or self.multipart is not None:
            statuses.update({413, 415, 422})
        if self.body is not None:
            statuses.add(400)  # JSON nested deeper than MAX_JSON_DEPTH
        if self.path_params():
            statuses.add(404)
        if self.if_match:
            statuses.update({412, 428})
        return sorted(statuses)


REGISTRY: list[Operation] = []


def endpoint(method: str, rule: str, **spec: Any) -> Callable[[Handler], Handler]:
    """Register `handler` as an API operation (the Flask route is added by `install`)."""

    def decorate(handler: Handler) -> Handler:
        REGISTRY.append(Operation(method=method, rule=rule, handler=handler, **spec))
        return handler

    return decorate


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def runtime() -> Runtime:
    rt: Runtime = current_app.extensions["orderdesk"]
    return rt


def client_ip() -> str | None:
    return request.remote_addr


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authenticate(rt: Runtime, session: Session) -> ApiSession:
    """The live session behind the bearer token, or 401 (missing, forged, expired, revoked)."""
    token = _bearer_token()
    if token is None:
        raise ApiError(401, "请先登录", code="unauthorized")
    sid = tokens.read(rt.settings.secret_key, token)
    row = sessions.live_session(session, sid) if sid else None
    if row is None:
        raise ApiError(401, "登录已失效,请重新登录", code="session_invalid")
    return row


def login_limiter(rt: Runtime) -> LoginLimiter:
    limiter = rt.extensions.get("api_login_limiter")
    if limiter is None:
        raw = rt.settings.extra.get("ORDERDESK_LOGIN_RATE_PER_MINUTE", "")
        limit = int(raw) if raw.isdigit() else DEFAULT_LOGIN_LIMIT
        limiter = LoginLimiter(limit, rt.redis, rt.settings.redis_namespace)
        rt.extensions["api_login_limiter"] = limiter
    return limiter


def _install_audit(rt: Runtime) -> None:
    """Stamp the caller's IP and user agent on every timeline entry written during an API call,
    whichever service wrote it (services do not know about HTTP)."""
    if rt.extensions.get("api_audit_installed"):
        return
    rt.extensions["api_audit_installed"] = True

    @event.listens_for(rt.db.Session, "before_flush")
    def _stamp(session: Session, _ctx: Any, _instances: Any) -> None:
        audit = session.info.get("api_audit")
        if not audit:
            return
        for obj in session.new:
            if isinstance(obj, Activity):
                if obj.ip is None:
                    obj.ip = audit["ip"]
                if obj.user_agent is None:
                    obj.user_agent = audit["user_agent"]


def _read_json_body(op: Operation) -> dict[str, Any]:
    length = request.content_length
    if length is not None and length > MAX_JSON_BYTES:
        raise ApiError(413, "请求体不能超过 1 MB")
    raw = request.get_data(cache=True)
    if len(raw) > MAX_JSON_BYTES:
        raise ApiError(413, "请求体不能超过 1 MB")
    if not raw.strip() and op.body is not None and not op.body.get("required"):
        body: Any = {}
    else:
        if request.mimetype != "application/json":
            raise ApiError(415, "请使用 application/json 提交")
        body = _parse_json()
    if not isinstance(body, dict):
        raise ApiError(422, "请求体应为 JSON 对象", fields={"body": "类型不正确,应为对象"})
    assert op.body is not None
    validate(op.body, body)
    return body


def _parse_json() -> Any:
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # the json module's own limit, far above MAX_JSON_DEPTH
        raise ApiError(400, "请求体嵌套层级过深", code="too_deep") from None
    if body is None:
        raise ApiError(422, "请求体不是合法的 JSON", fields={"body": "格式不正确"})
    if nesting_depth(body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise ApiError(400, f"请求体嵌套层级过深(最多 {MAX_JSON_DEPTH} 层)", code="too_deep")
    return body


def _read_multipart(op: Operation) -> dict[str, Any]:
    if request.mimetype != "multipart/form-data":
        raise ApiError(415, "请使用 multipart/form-data 提交")
    assert op.multipart is not None
    props = op.multipart.get("properties", {})
    fields = {k: v for k, v in request.form.items()}
    unknown = [k for k in [*request.form, *request.files] if k not in props]
    if unknown:
        raise ApiError(422, fields={k: "不支持的字段" for k in unknown})
    validate(
        {
            **op.multipart,
            "properties": {k: v for k, v in props.items() if v.get("type") != "array"},
        },
        fields,
    )
    files = [f for name in request.files for f in request.files.getlist(name)]
    limit = props.get("files", {}).get("maxItems")
    if limit is not None and len(files) > limit:
        raise ApiError(422, fields={"files": f"最多 {limit} 项"})
    return {**fields, "files": files}


def _respond(result: Reply | None) -> Response:
    if result is None:
        return Response(status=204)
    if isinstance(result, Response):
        return result
    headers: dict[str, str] = {}
    status = 200
    if isinstance(result, tuple):
        payload = result[0]
        status = result[1]
        if len(result) == 3:
            headers = result[2]
    else:
        payload = result
    response = jsonify(payload)
    response.status_code = status
    for name, value in headers.items():
        response.headers[name] = value
    return response


def _view(op: Operation) -> Callable[..., Response]:
    def view(**path: Any) -> Response:
        if any(isinstance(v, int) and v > MAX_ID for v in path.values()):
            raise ApiError(404)  # no row can have that id (and SQLite cannot even bind it)
        if control_characters(path):
            raise ApiError(404)  # no order number or project code contains control characters
        rt = runtime()
        ip, user_agent = client_ip(), request.headers.get("User-Agent")
        if op.login:
            retry_after = login_limiter(rt).hit(ip or "unknown")
            if retry_after is not None:
                raise ApiError(
                    429, "登录尝试过于频繁,请稍后再试", headers={"Retry-After": str(retry_after)}
                )
        with rt.db.transaction() as session:
            session.info["api_audit"] = {"ip": ip, "user_agent": (user_agent or "")[:256] or None}
            api_session = authenticate(rt, session) if op.auth else None
            query = coerce_query(op.query, request.args.to_dict(flat=False)) if op.query else {}
            if op.query is None and request.args:
                raise ApiError(422, fields={k: "不支持的参数" for k in request.args})
            body: dict[str, Any] = {}
            if op.body is not None:
                body = _read_json_body(op)
            elif op.multipart is not None:
                body = _read_multipart(op)
            ctx = Ctx(
                rt=rt,
                session=session,
                actor_or_none=api_session.staff if api_session else None,
                api_session=api_session,
                query=query,
                body=body,
                ip=ip,
                user_agent=user_agent,
            )
            result = op.handler(ctx, **path)
        return _respond(result)

    view.__name__ = op.name
    return view


def install(bp: Any) -> None:
    """Add every registered operation to the blueprint (called once, at import of the package)."""
    for op in REGISTRY:
        bp.add_url_rule(op.rule, endpoint=op.name, view_func=_view(op), methods=[op.method])


def on_app(rt: Runtime) -> None:
    _install_audit(rt)
