"""What an order points at (customer, contract, business line), looked up within the caller's
scope: the one look-up that create and edit share.

Why: an id taken from a request is a claim, not a right. A salesperson who could point a new
order at another's contract would read that contract's plan, invoices and receipts through it,
and book money to the other order's installments. Outside the caller's scope a customer or a
contract reads exactly like a wrong id ("找不到合同 …"), so scope never tells what exists.
- customer: `customers.customer_scope` (owned, or the customer of an order the caller may see);
- contract: its customer is in scope, and it is not used by an order the caller may not see;
  a contract already used by another order is refused by name (one contract, one order: the
  payment plan belongs to the contract, so two orders would share one set of balances).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, true
from sqlalchemy.orm import Session

from orderdesk.directory.customers import customer_scope
from orderdesk.directory.permissions import SEE_ALL_ROLES, order_scope
from orderdesk.models import BusinessLine, Contract, Customer, Order, Staff
from orderdesk.orders.inputs import lookup


@dataclass
class OrderRefs:
    """The references named in the request (None: not named, or not found; see `errors`)."""

    customer: Customer | None = None
    contract: Contract | None = None
    business_line: BusinessLine | None = None


def contract_scope(actor: Staff) -> ColumnElement[bool]:
    """A WHERE clause on `Contract`: the contracts `actor` may attach to an order."""
    if actor.active and actor.has_role(*SEE_ALL_ROLES):
        return true()
    customers = select(Customer.id).where(customer_scope(actor))
    used = select(Order.contract_id).where(Order.contract_id.is_not(None))
    used_visibly = used.where(order_scope(actor))
    return and_(
        Contract.customer_id.in_(customers),
        or_(Contract.id.not_in(used), Contract.id.in_(used_visibly)),
    )


def named(data: Mapping[str, Any], key: str) -> bool:
    return key in data or f"{key}_id" in data


def resolve_refs(
    session: Session,
    *,
    actor: Staff,
    data: Mapping[str, Any],
    errors: dict[str, str],
    order: Order | None = None,
) -> OrderRefs:
    """Look up the references `data` names, each within `actor`'s scope, and check they fit
    together (and with `order`'s current ones when editing). Problems go to `errors`."""
    refs = OrderRefs()
    if named(data, "customer"):
        refs.customer = lookup(
            session,
            data,
            model=Customer,
            by_id="customer_id",
            by_code="customer",
            column=Customer.name,
            label="客户",
            errors=errors,
            scope=customer_scope(actor),
        )
    if named(data, "contract"):
        refs.contract = lookup(
            session,
            data,
            model=Contract,
            by_id="contract_id",
            by_code="contract",
            column=Contract.number,
            label="合同",
            errors=errors,
            scope=contract_scope(actor),
        )
    if named(data, "business_line"):
        refs.business_line = lookup(
            session,
            data,
            model=BusinessLine,
            by_id="business_line_id",
            by_code="business_line",
            column=BusinessLine.code,
            label="业务线",
            errors=errors,
        )
    _check_contract(session, refs, errors, order)
    return refs


def _check_contract(
    session: Session, refs: OrderRefs, errors: dict[str, str], order: Order | None
) -> None:
    contract = refs.contract
    if contract is None and order is not None:
        contract = order.contract
    customer_id = refs.customer.id if refs.customer is not None else None
    if customer_id is None and order is not None:
        customer_id = order.customer_id
    if contract is None or "contract" in errors:
        return
    if customer_id and contract.customer_id != customer_id:
        errors["contract"] = "合同不属于该客户"
        return
    if refs.contract is None:
        return
    other = session.scalar(
        select(Order.number).where(
            Order.contract_id == contract.id, Order.id != (order.id if order else None)
        )
    )
    if other is not None:
        errors["contract"] = f"合同 {contract.number} 已关联订单 {other},一份合同只能对应一个订单"
