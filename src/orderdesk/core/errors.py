"""Domain errors. Every entry point maps these in one place (chat reply, HTTP status, CLI exit)."""

from __future__ import annotations


class DomainError(Exception):
    """A rule said no. `message` is Chinese and safe to show to the user."""

    code = "domain_error"

    def __init__(self, message: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class NotFound(DomainError):
    """Missing, or outside the actor's data scope (the two are indistinguishable on purpose)."""

    code = "not_found"


class PermissionDenied(DomainError):
    code = "forbidden"


class ValidationFailed(DomainError):
    code = "validation_failed"


class Conflict(DomainError):
    """Optimistic-lock or state conflict: someone else changed it first."""

    code = "conflict"


class IllegalTransition(Conflict):
    code = "illegal_transition"


class AlreadyDecided(Conflict):
    code = "already_decided"
