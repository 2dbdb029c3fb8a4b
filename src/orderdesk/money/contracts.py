"""Contracts: create, edit (payment terms, amount), sign. A change of terms or amount brings the
payment plan in line through `plans.generate_plan` (paid and invoiced installments are kept),
and the timeline shows the plan before and after.

Scope is the customer's (directory.customers.customer_scope): out of scope reads as not found.
Changing a contract: its customer's owner, their managers, finance, gm / admin.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager

from orderdesk.core.errors import IllegalTransition, NotFound, PermissionDenied, ValidationFailed
from orderdesk.core.parsing import parse_day, parse_decimal
from orderdesk.directory.customers import customer_scope
from orderdesk.directory.permissions import owns_or_leads
from orderdesk.models import Contract, Customer, PaymentPlan, Staff
from orderdesk.money import plans
from orderdesk.orders.timeline import record


def get_contract(session: Session, *, actor: Staff, contract_id: int) -> Contract:
    found = session.scalar(
        select(Contract)
        .join(Customer, Customer.id == Contract.customer_id)
        .where(Contract.id == contract_id, customer_scope(actor))
    )
    if found is None:
        raise NotFound("未找到该合同")
    return found


def list_contracts(
    session: Session, *, actor: Staff, status: str | None = None, limit: int = 50
) -> list[Contract]:
    """Contracts of the customers in the actor's scope, newest first (the pages' list)."""
    stmt = (
        select(Contract)
        .join(Customer, Customer.id == Contract.customer_id)
        .where(customer_scope(actor))
        .options(contains_eager(Contract.customer))
    )
    if status:
        stmt = stmt.where(Contract.status == status)
    return list(session.scalars(stmt.order_by(Contract.id.desc()).limit(max(1, min(limit, 200)))))


def may_edit(actor: Staff, contract: Contract) -> bool:
    """Who may change or sign a contract: finance, the customer's owner and their managers."""
    return actor.has_role("finance") or owns_or_leads(actor, contract.customer.owner)


def _editable(session: Session, actor: Staff, contract_id: int) -> Contract:
    contract = get_contract(session, actor=actor, contract_id=contract_id)
    if not may_edit(actor, contract):
        raise PermissionDenied("只有客户负责人、其上级、财务或管理员可以修改合同")
    return contract


def _plan_lines(session: Session, contract: Contract) -> str | None:
    plan = session.scalar(select(PaymentPlan).where(PaymentPlan.contract_id == contract.id))
    if plan is None:
        return None
    insts = sorted(plan.installments, key=lambda i: i.sequence)
    return "; ".join(f"{i.name} {i.amount}" for i in insts)


def update_contract(
    session: Session, *, actor: Staff, contract_id: int, data: dict[str, Any]
) -> Contract:
    """Change title / amount / payment terms / signed date. New terms are validated against the
    amount before anything is stored; an existing plan is regenerated keeping paid and invoiced
    installments (a change below what is already paid or invoiced is refused)."""
    contract = _editable(session, actor, contract_id)
    if contract.status == "void":
        raise IllegalTransition("合同已作废,不能修改")
    before = _plan_lines(session, contract)
    if "title" in data:
        contract.title = str(data["title"] or "").strip()[:200]
    if "amount" in data:
        amount = parse_decimal(data["amount"])
        if amount is None or amount < 0:
            raise ValidationFailed("合同金额无效", fields={"amount": "invalid"})
        contract.amount = plans.cents(amount)
    if "payment_terms" in data:
        contract.payment_terms = list(data["payment_terms"] or [])
    if "signed_date" in data:
        day = parse_day(data["signed_date"])
        if day is None:
            raise ValidationFailed("签订日期无效", fields={"signed_date": "invalid"})
        contract.signed_date = day
    # Terms must fit the amount whether or not a plan exists yet (raises ValidationFailed).
    plans.compute_amounts(plans.cents(contract.amount), plans.parse_terms(contract.payment_terms))
    session.flush()
    if before is not None:
        # On the order's timeline (and the customer's) next to generate_plan's "after" entry.
        order = contract.orders[0] if contract.orders else None
        record(
            session,
            kind="payment",
            actor=actor,
            body=f"修改合同 {contract.number} 前的付款计划:{before}",
            plain=f"修改合同 {contract.number}",
            order=order,
            customer_id=contract.customer_id,
        )
        plans.generate_plan(session, contract=contract, order=order)
    return contract


def sign_contract(session: Session, *, actor: Staff, contract_id: int, signed_on: Any) -> Contract:
    contract = _editable(session, actor, contract_id)
    if contract.status != "draft":
        raise IllegalTransition("只有草稿合同可以签订")
    day = parse_day(signed_on)
    if day is None:
        raise ValidationFailed("签订日期无效", fields={"signed_date": "invalid"})
    contract.signed_date = day
    contract.status = "signed"
    record(
        session,
        kind="contract",
        actor=actor,
        body=f"合同 {contract.number} 已签订({day:%Y-%m-%d})",
        customer_id=contract.customer_id,
    )
    session.flush()
    return contract
