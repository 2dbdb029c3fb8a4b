"""The OpenAPI 3.1 document, generated from the endpoint registry (never written by hand)."""

from __future__ import annotations

from typing import Any

from orderdesk.miniapp_api.errors import HTTP_MESSAGES
from orderdesk.miniapp_api.registry import REGISTRY, Ctx, Operation, Reply, endpoint
from orderdesk.miniapp_api.schemas import COMPONENTS

SUCCESS_TEXT = {200: "成功", 201: "已创建", 204: "成功,无内容"}


def _error_response(status: int) -> dict[str, Any]:
    code, message = HTTP_MESSAGES.get(status, ("error", "请求失败"))
    return {
        "description": f"{message}(code: {code} 等)",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _parameters(op: Operation) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": schema}
        for name, schema in op.path_params()
    ]
    if op.query:
        required = set(op.query.get("required", ()))
        for name, schema in op.query.get("properties", {}).items():
            params.append(
                {"name": name, "in": "query", "required": name in required, "schema": schema}
            )
    if op.if_match:
        params.append(
            {
                "name": "If-Match",
                "in": "header",
                "required": True,
                "description": "订单当前版本号(GET 详情返回的 ETag / version)",
                "schema": {"type": "string", "pattern": r'^(W/)?"?[0-9]{1,9}"?$'},
            }
        )
    return params


def _operation(op: Operation) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "operationId": op.name,
        "summary": op.summary,
        "tags": [op.tag],
        "security": [{"bearer": []}] if op.auth else [],
        "responses": {},
    }
    if op.description:
        doc["description"] = op.description
    params = _parameters(op)
    if params:
        doc["parameters"] = params
    if op.body is not None:
        doc["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": op.body}},
        }
    elif op.multipart is not None:
        doc["requestBody"] = {
            "required": True,
            "content": {"multipart/form-data": {"schema": op.multipart}},
        }
    for status, schema in op.responses.items():
        entry: dict[str, Any] = {"description": SUCCESS_TEXT.get(status, "成功")}
        if schema is not None:
            entry["content"] = {"application/json": {"schema": schema}}
        if status == 200:
            for media in op.downloads:
                binary = {"schema": {"type": "string", "format": "binary"}}
                entry.setdefault("content", {})[media] = binary
        doc["responses"][str(status)] = entry
    for status in op.error_statuses():
        doc["responses"][str(status)] = _error_response(status)
    return doc


def document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for op in REGISTRY:
        paths.setdefault(op.openapi_path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "OrderDesk 小程序 API",
            "version": "1.0.0",
            "description": (
                "企业微信小程序使用的 JSON API。金额为两位小数的十进制字符串;时间为带时区偏移的 "
                "ISO 8601。错误统一为 {error: {code, message, fields}}。"
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {
            "schemas": COMPONENTS,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "登录接口返回的 token,7 天有效,可注销",
                }
            },
        },
    }


@endpoint(
    "GET",
    "/openapi.json",
    tag="meta",
    summary="OpenAPI 3.1 文档",
    auth=False,
    responses={200: {"type": "object"}},
)
def openapi_json(ctx: Ctx) -> Reply:
    return document()
