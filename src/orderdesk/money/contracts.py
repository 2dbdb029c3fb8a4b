"""Contracts: create, edit (payment terms, amount), sign. A change of terms or amount brings the
payment plan in line through `plans.generate_plan` (paid and invoiced installments are kept),
and the timeline shows the plan before and after.

Scope is the customer's (directory.customers.customer_scope): out of scope reads as not found.
Changing a contract: its customer's owner, their managers, finance, gm / admin.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager

from orderdesk.core.errors import IllegalTransition, NotFound, PermissionDenied, ValidationFailed
from orderdesk.core.parsing import parse_day, parse_decimal
from orderdesk.directory.customers import customer_scope
from orderdesk.directory.opportunities import add_numbered_contract, get_opportunity
from orderdesk.directory.permissions import owns_or_leads
from orderdesk.models import BusinessLine, Contract, Customer, PaymentPlan, Staff
from orderdesk.money import invoices, plans
from orderdesk.orders.timeline import record

POLICIES = invoices.POLICY_ZH  # the invoicing policy by code, and the name finance uses


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


def editable_contract(session: Session, *, actor: Staff, contract_id: int) -> Contract:
    """A contract in scope that `actor` may change (else NotFound / PermissionDenied)."""
    return _editable(session, actor, contract_id)


def _editable(session: Session, actor: Staff, contract_id: int) -> Contract:
    contract = get_contract(session, actor=actor, contract_id=contract_id)
    if not may_edit(actor, contract):
        raise PermissionDenied("只有客户负责人、其上级、财务或管理员可以修改合同")
    return contract


def create_contract(session: Session, *, actor: Staff, data: dict[str, Any]) -> Contract:
    """A new contract for a customer in scope (optionally from one of its opportunities):
    amount, business line, payment terms (validated against the amount), invoicing policy and
    the buyer's invoicing name / tax id. With `signed_date` it is signed at once, else a draft.
    The plan is generated when an order on it is approved (orders.automation)."""
    customer = _customer_for_new(session, actor, data.get("customer_id"))
    amount = parse_decimal(data.get("amount"))
    if amount is None or amount < 0:
        raise ValidationFailed("合同金额无效", fields={"amount": "invalid"})
    terms = list(data.get("payment_terms") or [])
    plans.compute_amounts(plans.cents(amount), plans.parse_terms(terms))
    signed = _signed_day(data.get("signed_date"))
    contract = Contract(
        customer_id=customer.id,
        opportunity_id=_opportunity_id(session, actor, customer, data.get("opportunity_id")),
        business_line_id=_business_line_id(session, data.get("business_line")),
        title=str(data.get("title") or "").strip()[:200] or customer.name,
        amount=plans.cents(amount),
        payment_terms=terms,
        invoicing_policy=policy_code(data.get("invoicing_policy")),
        signed_date=signed,
        status="signed" if signed else "draft",
        **_buyer(data),
    )
    if data.get("tax_rate") is not None:
        contract.tax_rate = invoices.parse_tax_rate(data["tax_rate"], Decimal("0.06"))
    add_numbered_contract(session, contract)
    record(
        session,
        kind="contract",
        actor=actor,
        body=f"新建合同 {contract.number} {contract.title}({'已签订' if signed else '草稿'},"
        f"{len(terms)} 期,{POLICIES[contract.invoicing_policy]})",
        customer_id=customer.id,
        data={"contract": contract.number},
    )
    return contract


def _customer_for_new(session: Session, actor: Staff, customer_id: Any) -> Customer:
    customer = session.scalar(
        select(Customer).where(Customer.id == customer_id, customer_scope(actor))
    )
    if customer is None or customer.archived_at is not None:
        raise NotFound("未找到该客户")
    if not (actor.has_role("finance") or owns_or_leads(actor, customer.owner)):
        raise PermissionDenied("只有客户负责人、其上级、财务或管理员可以新建合同")
    return customer


def _opportunity_id(session: Session, actor: Staff, customer: Customer, raw: Any) -> int | None:
    if raw is None:
        return None
    opp = get_opportunity(session, actor=actor, opportunity_id=int(raw))
    if opp.customer_id != customer.id:
        raise ValidationFailed("商机不属于该客户", fields={"opportunity_id": "other_customer"})
    return opp.id


def _business_line_id(session: Session, code: Any) -> int | None:
    if not code:
        return None
    line_id = session.scalar(select(BusinessLine.id).where(BusinessLine.code == str(code)))
    if line_id is None:
        raise ValidationFailed("未知业务线", fields={"business_line": "unknown"})
    return line_id


def _signed_day(raw: Any) -> Any:
    if raw is None:
        return None
    day = parse_day(raw)
    if day is None:
        raise ValidationFailed("签订日期无效", fields={"signed_date": "invalid"})
    return day


def _buyer(data: dict[str, Any]) -> dict[str, str | None]:
    """The contract's invoicing details, checked by the invoice rules (tax id 15-20 characters)."""
    raw = invoices.Buyer(data.get("buyer_name"), data.get("buyer_tax_id"))
    name, tax_id = invoices.buyer_fields(raw, "", "e_general")
    return {"buyer_name": name or None, "buyer_tax_id": tax_id}


def policy_code(raw: Any) -> str:
    """先票后款 / 先款后票 by code or Chinese name; 先款后票 when not given."""
    text = str(raw or "").strip()
    if not text:
        return "payment_first"
    for code, zh in POLICIES.items():
        if text in (code, zh):
            return code
    raise ValidationFailed(
        "开票方式须为 先票后款 / 先款后票", fields={"invoicing_policy": "invalid"}
    )


def _plan_lines(session: Session, contract: Contract) -> str | None:
    plan = session.scalar(select(PaymentPlan).where(PaymentPlan.contract_id == contract.id))
    if plan is None:
        return None
    insts = sorted(plan.installments, key=lambda i: i.sequence)
    return "; ".join(f"{i.name} {i.amount}" for i in insts)


def update_contract(
    session: Session, *, actor: Staff, contract_id: int, data: dict[str, Any]
) -> Contract:
    """Change title / amount / payment terms / signed date / invoicing details. New terms are
    validated against the amount before anything is stored; an existing plan is regenerated
    keeping paid and invoiced installments (a change below what is already paid or invoiced is
    refused). The timeline shows every changed field old → new, and the plan before and after."""
    contract = _editable(session, actor, contract_id)
    if contract.status == "void":
        raise IllegalTransition("合同已作废,不能修改")
    before = _plan_lines(session, contract)
    old = _terms_view(session, contract)
    _apply_changes(session, contract, data)
    # Terms must fit the amount whether or not a plan exists yet (raises ValidationFailed).
    plans.compute_amounts(plans.cents(contract.amount), plans.parse_terms(contract.payment_terms))
    session.flush()
    order = contract.orders[0] if contract.orders else None
    changes = [
        f"{label} {old[k]} → {v}"
        for k, (label, v) in _labelled(session, contract).items()
        if old[k] != v
    ]
    if changes:
        record(
            session,
            kind="contract",
            actor=actor,
            body=f"修改合同 {contract.number}:" + ";".join(changes),
            plain=f"修改合同 {contract.number}",
            order=order,
            customer_id=contract.customer_id,
            data={"contract": contract.number, "fields": [c.split(" ", 1)[0] for c in changes]},
        )
    if before is not None:
        # On the order's timeline (and the customer's) next to generate_plan's "after" entry.
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


def _apply_changes(session: Session, contract: Contract, data: dict[str, Any]) -> None:
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
    if "invoicing_policy" in data:
        contract.invoicing_policy = policy_code(data["invoicing_policy"])
    if "business_line" in data:
        contract.business_line_id = _business_line_id(session, data["business_line"])
    if "buyer_name" in data or "buyer_tax_id" in data:
        merged = {
            "buyer_name": data.get("buyer_name", contract.buyer_name),
            "buyer_tax_id": data.get("buyer_tax_id", contract.buyer_tax_id),
        }
        for key, value in _buyer(merged).items():
            setattr(contract, key, value)


def _labelled(session: Session, contract: Contract) -> dict[str, tuple[str, str]]:
    """What the timeline names for each field people change, and its value as they read it."""
    terms = "; ".join(_term_text(t) for t in contract.payment_terms or []) or "无"
    line = (
        session.get(BusinessLine, contract.business_line_id) if contract.business_line_id else None
    )
    return {
        "title": ("名称", contract.title or "无"),
        "amount": ("金额", f"{plans.cents(contract.amount)}"),
        "terms": ("付款条款", terms),
        "signed": ("签订日期", contract.signed_date.isoformat() if contract.signed_date else "无"),
        "policy": ("开票方式", POLICIES.get(contract.invoicing_policy or "", "先款后票")),
        "line": ("业务线", line.name if line else "无"),
        "buyer": ("开票抬头", contract.buyer_name or "客户名称"),
        "tax_id": ("税号", contract.buyer_tax_id or "无"),
    }


def _terms_view(session: Session, contract: Contract) -> dict[str, str]:
    return {key: value for key, (_, value) in _labelled(session, contract).items()}


def _term_text(term: dict[str, Any]) -> str:
    share = f"{term['percent']}%" if term.get("percent") is not None else f"{term.get('amount')} 元"
    when = plans.TRIGGER_ZH.get(str(term.get("trigger")), str(term.get("trigger")))
    extra = term.get("milestone") or term.get("event") or term.get("date") or ""
    days = f" +{term['days']}天" if term.get("days") else ""
    return f"{term.get('name', '')} {share} {when}{(' ' + str(extra)) if extra else ''}{days}"


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
