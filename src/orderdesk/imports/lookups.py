"""Look-ups an import loads once (not once per row): staff, customers, business lines, order
types, each by every name a sheet may use for it."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.directory.customer_admin import normalize_name
from orderdesk.models import BusinessLine, Customer, OrderType, Staff


def staff_by_name(session: Session) -> dict[str, int]:
    """userid and display name -> staff id; a name two people share is left out (ambiguous)."""
    found: dict[str, int] = {}
    twice: set[str] = set()
    for sid, userid, name in session.execute(select(Staff.id, Staff.userid, Staff.name)):
        found[userid.lower()] = sid
        key = name.strip().lower()
        if key in found and found[key] != sid:
            twice.add(key)
        found.setdefault(key, sid)
    for key in twice:
        found.pop(key, None)
    return found


def lines_by_name(session: Session) -> dict[str, int]:
    out: dict[str, int] = {}
    for lid, code, name in session.execute(
        select(BusinessLine.id, BusinessLine.code, BusinessLine.name)
    ):
        out[code.lower()] = lid
        out[name.strip().lower()] = lid
    return out


def types_by_name(session: Session) -> dict[str, tuple[int, int | None]]:
    """Active order types by code and name -> (id, its business line)."""
    out: dict[str, tuple[int, int | None]] = {}
    rows = session.execute(
        select(OrderType.id, OrderType.code, OrderType.name, OrderType.business_line_id).where(
            OrderType.active.is_(True)
        )
    )
    for tid, code, name, line in rows:
        out[code.lower()] = (tid, line)
        out[name.strip().lower()] = (tid, line)
    return out


@dataclass
class CustomerIndex:
    """Customers by 客户编码 and by normalised name (case-insensitive)."""

    by_code: dict[str, int] = field(default_factory=dict)
    by_name: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session) -> CustomerIndex:
        index = cls()
        for cid, code, name in session.execute(select(Customer.id, Customer.code, Customer.name)):
            if code:
                index.by_code[code.lower()] = cid
            index.by_name[normalize_name(name).lower()] = cid
        return index

    def find(self, code: str | None, name: str | None) -> int | None:
        if code:
            return self.by_code.get(code.lower())
        if name:
            return self.by_name.get(normalize_name(name).lower())
        return None
