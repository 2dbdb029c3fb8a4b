"""Server-side sessions of the mini-app API: a signed token names one row, so it can be revoked."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orderdesk.models.base import Base, UTCDateTime, utcnow

if TYPE_CHECKING:
    from orderdesk.models.staff import Staff

LOGIN_CHANNELS = ("miniprogram", "oauth", "dev")


class ApiSession(Base):
    __tablename__ = "api_sessions"
    __table_args__ = (Index("ix_api_sessions_staff_revoked", "staff_id", "revoked_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Random, unguessable; the signed token carries it (never the numeric id).
    sid: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    # WeCom's session_key from jscode2session: kept server-side only, never sent to the client.
    session_key: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(256))

    staff: Mapped[Staff] = relationship()
