"""Delegation windows: while someone is away, a substitute sees and decides their approvals."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.core.errors import NotFound, ValidationFailed
from orderdesk.directory.staff import get_active_staff
from orderdesk.models import Delegation, Staff
from orderdesk.orders import timeline


def set_delegation(
    session: Session,
    *,
    actor: Staff,
    substitute_userid: str,
    starts_on: date,
    ends_on: date,
    reason: str | None = None,
) -> Delegation:
    """`actor` lets `substitute_userid` approve on their behalf from `starts_on` to `ends_on`
    (inclusive, company dates). A new window replaces any overlapping active one of the actor."""
    if ends_on < starts_on:
        raise ValidationFailed("结束日期不能早于开始日期", fields={"ends_on": "早于开始日期"})
    if ends_on < clock.today(clock.company_tz(session)):
        raise ValidationFailed("结束日期已过", fields={"ends_on": "已过"})
    try:
        substitute = get_active_staff(session, substitute_userid)
    except NotFound:
        raise ValidationFailed(
            f"找不到同事 {substitute_userid}", fields={"substitute": "不存在或已停用"}
        ) from None
    if substitute.id == actor.id:
        raise ValidationFailed("不能委托给自己", fields={"substitute": "不能是自己"})
    for old in session.scalars(
        select(Delegation).where(
            Delegation.staff_id == actor.id,
            Delegation.active.is_(True),
            Delegation.starts_on <= ends_on,
            Delegation.ends_on >= starts_on,
        )
    ):
        old.active = False
    row = Delegation(
        staff_id=actor.id,
        substitute_id=substitute.id,
        starts_on=starts_on,
        ends_on=ends_on,
        reason=reason,
        active=True,
    )
    session.add(row)
    timeline.record(
        session,
        kind="approval",
        actor=actor,
        body=f"{actor.name} 设置审批委托:{starts_on} 至 {ends_on} 由 {substitute.name} 代为审批",
        data={"delegation": {"substitute": substitute.userid, "from": str(starts_on)}},
    )
    session.flush()
    return row


def cancel_delegation(session: Session, *, actor: Staff) -> int:
    """End every active delegation of the actor; returns how many were ended."""
    rows = session.scalars(
        select(Delegation).where(Delegation.staff_id == actor.id, Delegation.active.is_(True))
    ).all()
    for row in rows:
        row.active = False
    return len(rows)


def delegators_of(session: Session, substitute: Staff, on: date | None = None) -> list[Staff]:
    """The people whose approvals `substitute` may decide on `on` (today in company time)."""
    on = on or clock.today(clock.company_tz(session))
    return list(
        session.scalars(
            select(Staff)
            .join(Delegation, Delegation.staff_id == Staff.id)
            .where(
                Delegation.substitute_id == substitute.id,
                Delegation.active.is_(True),
                Delegation.starts_on <= on,
                Delegation.ends_on >= on,
            )
            .order_by(Staff.userid)
        )
    )


def substitutes_of(session: Session, staff: Staff, on: date | None = None) -> list[Staff]:
    """Who decides for `staff` on `on` (today in company time): their active substitutes."""
    on = on or clock.today(clock.company_tz(session))
    return list(
        session.scalars(
            select(Staff)
            .join(Delegation, Delegation.substitute_id == Staff.id)
            .where(
                Delegation.staff_id == staff.id,
                Delegation.active.is_(True),
                Delegation.starts_on <= on,
                Delegation.ends_on >= on,
                Staff.active.is_(True),
            )
            .order_by(Staff.userid)
        )
    )


def delegations_of(session: Session, staff: Staff, on: date | None = None) -> list[Delegation]:
    """`staff`'s windows that are active and not over by `on` (today in company time), the
    running one first: what the "我不在时" page shows and can end early."""
    on = on or clock.today(clock.company_tz(session))
    return list(
        session.scalars(
            select(Delegation)
            .where(
                Delegation.staff_id == staff.id,
                Delegation.active.is_(True),
                Delegation.ends_on >= on,
            )
            .order_by(Delegation.starts_on, Delegation.id)
        )
    )
