"""Server-side API sessions: opened at login, looked up on every call, revoked at logout.

The signed token (built by the entry point) only carries the random `sid`; this row decides
whether it is still good, so a session can be ended before its token expires.
"""

from __future__ import annotations

import ipaddress
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from orderdesk.core import clock
from orderdesk.models import ApiSession, Staff
from orderdesk.models.session import LOGIN_CHANNELS
from orderdesk.settings import Settings

SESSION_LIFETIME = timedelta(days=7)


def open_session(
    session: Session,
    *,
    staff: Staff,
    channel: str,
    session_key: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
) -> ApiSession:
    """A new session for `staff` that lives `SESSION_LIFETIME` from now."""
    if channel not in LOGIN_CHANNELS:
        raise ValueError(f"unknown login channel {channel!r}")
    now = clock.now()
    row = ApiSession(
        sid=secrets.token_urlsafe(32),
        staff_id=staff.id,
        channel=channel,
        session_key=session_key,
        created_at=now,
        expires_at=now + SESSION_LIFETIME,
        ip=(ip or "")[:64] or None,
        user_agent=(user_agent or "")[:256] or None,
    )
    session.add(row)
    session.flush()
    return row


def live_session(session: Session, sid: str) -> ApiSession | None:
    """The session named `sid` if it exists, is not revoked or expired, and its staff is active."""
    # The staff row and its roles come in the same query: every page and API call needs them.
    row = (
        session.scalars(
            select(ApiSession)
            .where(ApiSession.sid == sid)
            .options(joinedload(ApiSession.staff).joinedload(Staff.role_rows))
        )
        .unique()
        .one_or_none()
    )
    if row is None or row.revoked_at is not None or row.expires_at <= clock.now():
        return None
    if not row.staff.active:
        return None
    return row


def revoke(session: Session, row: ApiSession) -> None:
    if row.revoked_at is None:
        row.revoked_at = clock.now()


def trusts_caller_word(settings: Settings, ip: str | None) -> bool:
    """Whether a login that takes the caller's word for who they are (dev login, sandbox OAuth
    codes) may answer this client: sandbox only, and from loopback unless DEV_LOGIN=1.
    Shared by the mini-app API and the H5 pages."""
    if not settings.sandbox:
        return False
    if settings.dev_login:
        return True
    try:
        return ip is not None and ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False
