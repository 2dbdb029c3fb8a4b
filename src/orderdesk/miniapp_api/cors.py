"""CORS: closed unless CORS_ORIGINS lists the origin exactly (comma-separated)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

ALLOW_HEADERS = "Authorization, Content-Type, If-Match"
ALLOW_METHODS = "GET, POST, PATCH, OPTIONS"
EXPOSE_HEADERS = "ETag, Retry-After"


def allowed_origins() -> set[str]:
    raw: str = current_app.extensions["orderdesk"].settings.cors_origins
    return {o.strip().rstrip("/") for o in raw.split(",") if o.strip()}


def register(bp: Blueprint) -> None:
    @bp.after_request
    def _cors(response: Response) -> Response:
        origin = request.headers.get("Origin")
        if not origin:
            return response
        response.vary.add("Origin")
        if origin.rstrip("/") not in allowed_origins():
            return response
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
            response.headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
            response.headers["Access-Control-Max-Age"] = "600"
        return response
