"""Reading form fields and answering refused actions, the same way on every page."""

from __future__ import annotations

from flask import abort, g, request

from orderdesk.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed


def text(name: str, limit: int) -> str:
    """A trimmed form field cut to the column's length (longer input never reaches a service)."""
    return (request.form.get(name) or "").strip()[:limit]


def optional(name: str, limit: int) -> str | None:
    return text(name, limit) or None


def fields(limits: dict[str, int]) -> dict[str, str | None]:
    """The named fields (empty ones as None), for the services' `data` dicts."""
    return {key: optional(key, limit) for key, limit in limits.items()}


def int_arg(name: str) -> int | None:
    raw = request.args.get(name) or ""
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 12:
        abort(400, "参数格式不正确")
    return int(raw)


def status_of(exc: DomainError) -> int:
    """Bad input is 400, a clash with the current state (duplicate, wrong status) 409."""
    return 400 if isinstance(exc, ValidationFailed) else 409


def refused(exc: DomainError) -> int:
    """Undo whatever a refused action wrote (the page then shows why), and its status code.
    Out of scope and not-allowed stay 404 (page_session turns them into the missing page)."""
    if isinstance(exc, NotFound | PermissionDenied):
        raise exc
    g.page.session.rollback()
    return status_of(exc)
