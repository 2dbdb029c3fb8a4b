"""Staff look-ups shared by every entry point."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from orderdesk.core.errors import NotFound
from orderdesk.models import Staff, StaffRole

NOT_ENABLED = "您还没有开通 OrderDesk,请联系管理员"


def get_active_staff(session: Session, userid: str) -> Staff:
    """The active staff member with this WeCom userid, or NotFound with the standard message."""
    # Roles in the same round trip (the mapper default, selectin, costs a second query): every
    # chat message resolves its sender here before anything else.
    staff = (
        session.scalars(
            select(Staff).options(joinedload(Staff.role_rows)).where(Staff.userid == userid)
        )
        .unique()
        .first()
    )
    if staff is None or not staff.active:
        raise NotFound(NOT_ENABLED)
    return staff


def staff_with_role(session: Session, role: str) -> list[Staff]:
    """Active staff holding `role`, ordered by userid (stable recipient lists)."""
    return list(
        session.scalars(
            select(Staff)
            .join(StaffRole, StaffRole.staff_id == Staff.id)
            .where(StaffRole.role == role, Staff.active.is_(True))
            .order_by(Staff.userid)
        )
    )
