"""Customers as the actor may see them: search and the detail page (orders, contracts,
contacts, timeline). Scope follows orders: a customer is visible to the staff who own it, to
whoever may see one of its orders, and to finance / gm / admin."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, or_, select, true
from sqlalchemy.orm import Session

from orderdesk.core.errors import NotFound
from orderdesk.directory.permissions import MONEY_ROLES, SEE_ALL_ROLES, order_scope, team_of
from orderdesk.models import Activity, Contact, Contract, Customer, Order, Staff
from orderdesk.orders.lookups import activity_page

MAX_LIMIT = 50


def customer_scope(actor: Staff) -> ColumnElement[bool]:
    if actor.active and actor.has_role(*SEE_ALL_ROLES):
        return true()
    visible_orders = select(Order.customer_id).where(order_scope(actor))
    clauses = [Customer.owner_id == actor.id, Customer.id.in_(visible_orders)]
    if actor.active and actor.has_role("manager"):
        clauses.append(Customer.owner_id.in_(team_of(actor)))  # before the team's first order
    return or_(*clauses)


def search_customers(
    session: Session,
    *,
    actor: Staff,
    q: str | None = None,
    limit: int = 20,
    include_archived: bool = False,
) -> list[Customer]:
    """Customers in scope whose name or short name contains `q`, whose pinyin initials start
    with it ("hzqh"), or with a contact whose phone contains it (all in scope when empty).
    Archived customers only when asked for."""
    stmt = select(Customer).where(customer_scope(actor))
    if not include_archived:
        stmt = stmt.where(Customer.archived_at.is_(None))
    text = (q or "").strip()
    if text:
        like = f"%{text}%"
        by_phone = select(Contact.customer_id).where(Contact.phone.like(like))
        clauses = [Customer.name.ilike(like), Customer.short_name.ilike(like)]
        if text.isascii() and text.isalnum():
            clauses.append(Customer.name_initials.like(f"{text.upper()}%"))
        if text.replace("-", "").isdigit() and len(text) >= 4:
            clauses.append(Customer.id.in_(by_phone))
        stmt = stmt.where(or_(*clauses))
    stmt = stmt.order_by(Customer.name, Customer.id).limit(max(1, min(limit, MAX_LIMIT)))
    return list(session.scalars(stmt))


def customer_choices(
    session: Session, *, actor: Staff, chosen: int | None = None, limit: int = MAX_LIMIT
) -> list[Customer]:
    """The customers a form offers (in scope, not archived, by name), always including the one
    already chosen (a page opened from a customer's page) when the actor may see it."""
    found = search_customers(session, actor=actor, limit=limit)
    if chosen is not None and all(c.id != chosen for c in found):
        extra = session.scalar(
            select(Customer).where(
                Customer.id == chosen, customer_scope(actor), Customer.archived_at.is_(None)
            )
        )
        found = [extra, *found] if extra is not None else found
    return found


@dataclass
class CustomerDetail:
    customer: Customer
    orders: list[Order]
    contracts: list[Contract]
    contacts: list[Contact]
    timeline: list[Activity]
    timeline_next: int | None
    show_contract_money: bool


def customer_detail(
    session: Session,
    *,
    actor: Staff,
    customer_id: int,
    timeline_before: int | None = None,
    timeline_limit: int = 20,
) -> CustomerDetail:
    customer = session.scalar(
        select(Customer).where(Customer.id == customer_id, customer_scope(actor))
    )
    if customer is None:
        raise NotFound("未找到该客户")
    orders = list(
        session.scalars(
            select(Order)
            .where(Order.customer_id == customer.id, order_scope(actor))
            .order_by(Order.id.desc())
            .limit(MAX_LIMIT)
        )
    )
    contracts = list(
        session.scalars(
            select(Contract).where(Contract.customer_id == customer.id).order_by(Contract.id.desc())
        )
    )
    contacts = list(
        session.scalars(
            select(Contact).where(Contact.customer_id == customer.id).order_by(Contact.id)
        )
    )
    timeline, nxt = activity_page(
        session,
        customer_id=customer.id,
        before_id=timeline_before,
        limit=timeline_limit,
        viewer=actor,
    )
    # Contract amounts are money fields: the customer's owner and the money roles see them.
    show_money = actor.has_role(*MONEY_ROLES) or customer.owner_id == actor.id
    return CustomerDetail(customer, orders, contracts, contacts, timeline, nxt, show_money)


def find_contracts(session: Session, *, actor: Staff, query: str, limit: int = 5) -> list[Contract]:
    """Contracts of customers in scope whose number, title or customer name contains `query`
    (an exact number first). Out of scope is simply not found."""
    text = query.strip()
    if not text:
        return []
    stmt = (
        select(Contract)
        .join(Customer, Customer.id == Contract.customer_id)
        .where(
            customer_scope(actor),
            or_(
                Contract.number.ilike(text),
                Contract.number.contains(text.upper(), autoescape=True),
                Contract.title.contains(text, autoescape=True),
                Customer.name.contains(text, autoescape=True),
                Customer.short_name.contains(text, autoescape=True),
            ),
        )
        .order_by((func.upper(Contract.number) == text.upper()).desc(), Contract.id.desc())
        .limit(max(1, min(limit, MAX_LIMIT)))
    )
    return list(session.scalars(stmt))


def may_see_contract_money(actor: Staff, contract: Contract) -> bool:
    """Contract amounts: the money roles and the customer's owner (as on the customer page)."""
    return actor.has_role(*MONEY_ROLES) or contract.customer.owner_id == actor.id
