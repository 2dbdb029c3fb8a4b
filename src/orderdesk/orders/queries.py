"""Finding orders within the actor's scope: by number, by keyword, near misses, lists, counts."""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    cast,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.sql.base import ExecutableOption

from orderdesk.core import clock
from orderdesk.core.errors import NotFound, ValidationFailed
from orderdesk.core.search import shaped
from orderdesk.directory.permissions import money_scope, order_scope
from orderdesk.models import BusinessLine, Customer, Order, Project, Staff
from orderdesk.models.order import ORDER_STATUS_ZH, ORDER_STATUSES
from orderdesk.orders.numbers import normalize_number

MAX_LIST = 200
SUGGEST_POOL = 2000


def not_found(number: str) -> NotFound:
    # The same words whether the number is wrong or outside the actor's scope.
    return NotFound(f"找不到订单 {number.strip()}")


def get_order(
    session: Session, *, actor: Staff, number: str, load: Sequence[ExecutableOption] = ()
) -> Order:
    """The order with this number (case-insensitive; 'so-2026-1' works) if `actor` may see it.
    `load`: eager-load options of a reader that will touch more of the order (a page)."""
    wanted = normalize_number(number) or (number or "").strip().upper()
    if not wanted:
        raise not_found(number or "")
    # The customer comes along: every reader of an order names it (one round trip less).
    stmt = (
        select(Order)
        .where(Order.number == wanted, order_scope(actor))
        .options(joinedload(Order.customer), *load)
    )
    order = session.scalars(stmt).unique().one_or_none()
    if order is None:
        raise not_found(number)
    return order


def _keyword_clause(q: str) -> ColumnElement[bool]:
    q = q.strip()
    exact = normalize_number(q)
    clauses: list[ColumnElement[bool]] = [
        Order.number.contains(q.upper(), autoescape=True),
        Customer.name.contains(q, autoescape=True),
        Customer.short_name.contains(q, autoescape=True),
        Order.title.contains(q, autoescape=True),
    ]
    if exact:
        clauses.append(Order.number == exact)
    return or_(*clauses)


def _custom_field_clause(q: str) -> ColumnElement[bool]:
    """Custom-field values contain `q`. The JSON text holds non-ASCII escaped ("\\u6ee8"), as
    json.dumps writes it, so both spellings are looked for."""
    text = cast(Order.custom_fields, String)
    escaped = json.dumps(q.strip())[1:-1]
    return or_(text.contains(q.strip(), autoescape=True), text.contains(escaped, autoescape=True))


@dataclass(frozen=True)
class OrderFilters:
    """The list filters of GET /orders (each optional). Dates are company-calendar days,
    both ends included."""

    status: str | None = None
    customer_id: int | None = None
    owner_userid: str | None = None
    business_line: str | None = None
    created_from: date | None = None
    created_to: date | None = None
    overdue: bool = False
    q: str | None = None


def _day_start(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz)


_Row = TypeVar("_Row", bound=tuple[Any, ...])


def _filtered(stmt: Select[_Row], f: OrderFilters, actor: Staff, tz: ZoneInfo) -> Select[_Row]:
    from orderdesk.money.collections import overdue_order_ids  # money builds on orders

    if f.status is not None:
        stmt = stmt.where(Order.status == f.status)
    if f.customer_id is not None:
        stmt = stmt.where(Order.customer_id == f.customer_id)
    if f.owner_userid:
        stmt = stmt.where(
            Order.owner_id.in_(select(Staff.id).where(Staff.userid == f.owner_userid))
        )
    if f.business_line:
        lines = select(BusinessLine.id).where(BusinessLine.code == f.business_line)
        stmt = stmt.where(Order.business_line_id.in_(lines))
    if f.created_from is not None:
        stmt = stmt.where(Order.created_at >= _day_start(f.created_from, tz))
    if f.created_to is not None:
        stmt = stmt.where(Order.created_at < _day_start(f.created_to + timedelta(days=1), tz))
    if f.overdue:
        # Being overdue is a money fact: only orders whose money the actor may see.
        today = clock.today(tz)
        stmt = stmt.where(Order.id.in_(overdue_order_ids(today)), money_scope(actor))
    if f.q and f.q.strip():
        stmt = stmt.join(Customer, Customer.id == Order.customer_id).where(
            or_(_keyword_clause(f.q), _custom_field_clause(f.q))
        )
    return stmt


MAX_CANDIDATE_CUSTOMERS = 500


def _like_pattern(text: str) -> str:
    escaped = text.replace("/", "//").replace("%", "/%").replace("_", "/_")
    return f"%{escaped}%"


def _candidate_branches(session: Session, q: str) -> list[ColumnElement[bool]] | None:
    """Index-answerable clauses whose union holds every order `q` finds (the trigram index on
    search_text, orders.customer_id, the number); None when narrowing would not pay. Each is
    its own branch of `_top_ids` (core.search says why the text is shaped). The customers are
    looked up first: a literal id list is an index condition, a subquery in an OR is not."""
    q = q.strip()
    customers = list(
        session.scalars(
            select(Customer.id)
            .where(
                or_(
                    Customer.name.contains(q, autoescape=True),
                    Customer.short_name.contains(q, autoescape=True),
                )
            )
            .limit(MAX_CANDIDATE_CUSTOMERS + 1)
        )
    )
    if len(customers) > MAX_CANDIDATE_CUSTOMERS:
        return None  # a word most customers share: narrowing would not pay
    # The pattern is written into the statement: a prepared statement's generic plan cannot
    # see that it is selective, and would scan instead of using the trigram index.
    text_match = or_(
        *(
            Order.search_text.like(
                literal(_like_pattern(shaped(spelling)), literal_execute=True), escape="/"
            )
            for spelling in dict.fromkeys([q, q.upper()])  # order numbers are stored upper-case
        )
    )
    branches: list[ColumnElement[bool]] = [text_match]
    if customers:
        branches.append(Order.customer_id.in_(customers))
    exact = normalize_number(q)
    if exact:
        branches.append(Order.number == exact)
    return branches


def _top_ids(
    base: Select[tuple[int]], q: str, branches: list[ColumnElement[bool]], limit: int
) -> Select[tuple[int]]:
    """Ids holding the first `limit` orders (newest first) that `q` finds among `base`: each
    branch's own first `limit`, so the page is cut before any order row is read. Without it
    PostgreSQL read every candidate (q=客户123 at 1M orders: 2,220 rows from the table, then
    sorted, for 21). The first branch (text) is re-checked here; a customer or number match is
    a match by itself, which lets its branch be answered from ix_orders_customer_id_id alone.
    The caller re-checks every row."""
    parts = []
    for i, branch in enumerate(branches):
        part = base.where(branch)
        if i == 0:
            part = part.join(Customer, Customer.id == Order.customer_id).where(
                or_(_keyword_clause(q), _custom_field_clause(q))
            )
        # Wrapped: SQLite allows no ORDER BY / LIMIT on a member of a UNION.
        inner = part.order_by(Order.id.desc()).limit(limit).subquery()
        parts.append(select(inner.c.id))
    return select(union_all(*parts).subquery().c.id)


def search_orders(session: Session, *, actor: Staff, query: str, limit: int = 5) -> list[Order]:
    """Orders in scope whose number, customer or title contains `query` (exact number first)."""
    query = (query or "").strip()
    if not query:
        return []
    limit = max(1, min(limit, MAX_LIST))
    exact = normalize_number(query)
    found: list[Order] = []
    if exact:
        hit = session.scalar(select(Order).where(Order.number == exact, order_scope(actor)))
        if hit is not None:
            found.append(hit)
    rows = session.scalars(
        select(Order)
        .join(Customer, Customer.id == Order.customer_id)
        .where(order_scope(actor), _keyword_clause(query))
        .order_by(Order.id.desc())
        .limit(limit)
    ).all()
    for row in rows:
        if row not in found:
            found.append(row)
    return found[:limit]


def suggest(session: Session, *, actor: Staff, query: str) -> list[str]:
    """For a miss: the nearest order numbers and customer names the actor may see (at most 5)."""
    query = (query or "").strip()
    if not query:
        return []
    rows = session.execute(
        select(Order.number, Customer.name)
        .join(Customer, Customer.id == Order.customer_id)
        .where(order_scope(actor))
        .order_by(Order.id.desc())
        .limit(SUGGEST_POOL)
    ).all()
    numbers = [r[0] for r in rows]
    customers = list(dict.fromkeys(r[1] for r in rows))
    probe = normalize_number(query) or query.upper()
    near = difflib.get_close_matches(probe, numbers, n=5, cutoff=0.6)
    # Customer names: containment first (people type a part of the name), then similarity.
    contained = [c for c in customers if query in c or c in query]
    near += contained + difflib.get_close_matches(query, customers, n=5, cutoff=0.4)
    return list(dict.fromkeys(near))[:5]


def list_orders(
    session: Session,
    *,
    actor: Staff,
    status: str | None = None,
    customer_id: int | None = None,
    owner_userid: str | None = None,
    q: str | None = None,
    after_id: int | None = None,
    limit: int = 50,
    filters: OrderFilters | None = None,
) -> list[Order]:
    """A page of orders in scope, newest first (by id desc; pass the last id as after_id).
    `filters` carries every filter; the single keywords are the older spelling of a few."""
    f = filters or OrderFilters(
        status=status, customer_id=customer_id, owner_userid=owner_userid, q=q
    )
    if f.status is not None and f.status not in ORDER_STATUSES:
        names = "、".join(f"{s}({ORDER_STATUS_ZH[s]})" for s in ORDER_STATUSES)
        raise ValidationFailed(f"未知状态 {f.status},可选:{names}", fields={"status": "未知状态"})
    if f.created_from and f.created_to and f.created_from > f.created_to:
        raise ValidationFailed("开始日期不能晚于结束日期", fields={"created_from": "晚于结束日期"})
    tz = clock.company_tz(session)
    limit = max(1, min(limit, MAX_LIST))
    stmt = _filtered(select(Order).where(order_scope(actor)), f, actor, tz)
    if after_id is not None:
        stmt = stmt.where(Order.id < after_id)
    branches = _candidate_branches(session, f.q) if f.q and f.q.strip() else None
    if f.q and branches is not None:
        # The branches get every filter but q, and the same page boundary.
        base = _filtered(select(Order.id).where(order_scope(actor)), replace(f, q=None), actor, tz)
        if after_id is not None:
            base = base.where(Order.id < after_id)
        stmt = stmt.where(Order.id.in_(_top_ids(base, f.q.strip(), branches, limit)))
    return list(session.scalars(stmt.order_by(Order.id.desc()).limit(limit)))


def order_counts(session: Session, *, actor: Staff) -> dict[str, int]:
    """How many orders in the actor's scope are in each state (every state present, 0 if none)."""
    counts = dict.fromkeys(ORDER_STATUSES, 0)
    rows = session.execute(
        select(Order.status, func.count(Order.id)).where(order_scope(actor)).group_by(Order.status)
    ).all()
    for status, n in rows:
        counts[status] = int(n)
    return counts


OPEN_STATUSES = ("draft", "pending_approval", "approved", "in_progress", "delivered", "accepted")


def my_orders(session: Session, *, actor: Staff, limit: int = 50) -> list[Order]:
    """Open orders I own, whose project I manage, or that wait for my approval (also as a
    delegate), newest first."""
    from orderdesk.approvals.service import pending_for  # approvals builds on orders: import late

    waiting = {a.request.order_id for a in pending_for(session, actor=actor)}
    managed = select(Project.order_id).where(Project.pm_id == actor.id)
    mine = or_(Order.owner_id == actor.id, Order.id.in_(managed), Order.id.in_(waiting))
    stmt = select(Order).where(mine, Order.status.in_(OPEN_STATUSES))
    return list(session.scalars(stmt.order_by(Order.id.desc()).limit(limit)))
