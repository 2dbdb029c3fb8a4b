"""Status links for a client: a read-only page about one order, opened without a login."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orderdesk.models.base import Base, UTCDateTime, utcnow

if TYPE_CHECKING:
    from orderdesk.models.order import Order
    from orderdesk.models.project import DeliverableVersion
    from orderdesk.models.staff import Staff


class ClientLink(Base):
    """One link handed to a client. Only the token's keyed digest is stored: a leaked database
    (or backup) does not hand out working links, and a lookup by digest cannot be enumerated."""

    __tablename__ = "client_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    views: Mapped[int] = mapped_column(default=0)
    last_viewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set: a sign-off link for this one deliverable version (opens /c/s/<token>, never the
    # status page); unset: a status link. One token scheme for both.
    version_id: Mapped[int | None] = mapped_column(
        ForeignKey("deliverable_versions.id"), index=True
    )

    order: Mapped[Order] = relationship()
    created_by: Mapped[Staff] = relationship(foreign_keys=[created_by_id])
    version: Mapped[DeliverableVersion | None] = relationship()
