"""Contracts within the caller's scope: create, detail, edit (terms regenerate the plan), sign."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from orderdesk.directory.customers import may_see_contract_money
from orderdesk.miniapp_api import serialize
from orderdesk.miniapp_api.registry import Ctx, Reply, endpoint
from orderdesk.miniapp_api.schemas import (
    DATE_PATTERN,
    DECIMAL_INPUT,
    ID,
    INT,
    NSTR,
    STR,
    array,
    nullable,
    obj,
    r,
)
from orderdesk.models import Contract, PaymentPlan
from orderdesk.money import contracts

PATH = {"contract_id": ID}
INSTALLMENT = obj(
    {
        "sequence": INT,
        "name": STR,
        "trigger": STR,
        "due_date": r("DateOrNull"),
        "status": STR,
        "amount": r("Money"),
        "paid_amount": r("Money"),
        "invoiced_amount": r("Money"),
    }
)
CONTRACT = obj(
    {
        "id": INT,
        "number": STR,
        "title": STR,
        "status": STR,
        "customer": r("CustomerRef"),
        "signed_date": r("DateOrNull"),
        "business_line": NSTR,
        "opportunity_id": nullable(INT),
        "invoicing_policy": {"type": "string", "enum": list(contracts.POLICIES)},
        "invoicing_policy_zh": STR,
        "buyer_name": STR,
        "buyer_tax_id": NSTR,
        "amount": r("MoneyOrNull"),
        "payment_terms": nullable(array({"type": "object"})),
        "installments": nullable(array(INSTALLMENT)),
    }
)
TERM = {
    "type": "object",
    "description": '{"name","percent"|"amount","trigger":"on_signing"|"on_date"|"on_milestone"'
    '|"after_event","days"?,"date"?,"milestone"?,"event"?}',
}
POLICY_INPUT = {
    "type": "string",
    "enum": [*contracts.POLICIES, *contracts.POLICIES.values()],
    "description": "开票方式:invoice_first 先票后款 / payment_first 先款后票(默认)",
}
NEW_CONTRACT = obj(
    {
        "customer_id": ID,
        "amount": DECIMAL_INPUT,
        "payment_terms": {**array(TERM), "minItems": 1, "maxItems": 24},
    },
    {
        "title": {"type": "string", "maxLength": 200},
        "opportunity_id": ID,
        "business_line": {"type": "string", "maxLength": 32},
        "invoicing_policy": POLICY_INPUT,
        "buyer_name": {"type": "string", "maxLength": 200},
        "buyer_tax_id": {"type": "string", "maxLength": 32},
        "tax_rate": {"type": "string", "pattern": r"^[0-9]{1,2}(\.[0-9]{1,4})?%?$"},
        "signed_date": {"type": "string", "pattern": DATE_PATTERN},
    },
)


def contract_body(ctx: Ctx, contract: Contract) -> dict[str, Any]:
    show = may_see_contract_money(ctx.actor, contract)
    plan = ctx.session.scalar(select(PaymentPlan).where(PaymentPlan.contract_id == contract.id))
    insts = sorted(plan.installments, key=lambda i: i.sequence) if plan else []
    return {
        "id": contract.id,
        "number": contract.number,
        "title": contract.title,
        "status": contract.status,
        "customer": {"id": contract.customer.id, "name": contract.customer.name},
        "signed_date": serialize.day(contract.signed_date),
        "business_line": contract.business_line.code if contract.business_line else None,
        "opportunity_id": contract.opportunity_id,
        "invoicing_policy": contract.invoicing_policy,
        "invoicing_policy_zh": contracts.POLICIES[contract.invoicing_policy],
        "buyer_name": contract.buyer_name or contract.customer.name,
        "buyer_tax_id": contract.buyer_tax_id,
        "amount": serialize.money(contract.amount) if show else None,
        "payment_terms": list(contract.payment_terms or []) if show else None,
        "installments": [_installment(i) for i in insts] if show else None,
    }


def _installment(inst: Any) -> dict[str, Any]:
    return {
        "sequence": inst.sequence,
        "name": inst.name,
        "trigger": inst.trigger,
        "due_date": serialize.day(inst.due_date),
        "status": inst.status,
        "amount": serialize.money(inst.amount),
        "paid_amount": serialize.money(inst.paid_amount),
        "invoiced_amount": serialize.money(inst.invoiced_amount),
    }


@endpoint(
    "POST",
    "/contracts",
    tag="contracts",
    summary="新建合同(客户、可选商机、金额、业务线、付款条款、开票方式与开票信息)",
    body=NEW_CONTRACT,
    responses={201: CONTRACT},
    errors=(403, 404),
)
def create_contract(ctx: Ctx) -> Reply:
    created = contracts.create_contract(ctx.session, actor=ctx.actor, data=ctx.body)
    return contract_body(ctx, created), 201


@endpoint(
    "GET",
    "/contracts/<int:contract_id>",
    tag="contracts",
    summary="合同详情(付款条款与付款计划,金额仅对有权查看者显示)",
    path_schemas=PATH,
    responses={200: CONTRACT},
)
def get_contract(ctx: Ctx, contract_id: int) -> Reply:
    found = contracts.get_contract(ctx.session, actor=ctx.actor, contract_id=contract_id)
    return contract_body(ctx, found)


@endpoint(
    "PATCH",
    "/contracts/<int:contract_id>",
    tag="contracts",
    summary="修改合同(名称、金额、付款条款、签订日期、开票方式与开票信息);条款变更重新生成未付部分的付款计划",
    path_schemas=PATH,
    body={
        **obj(
            {},
            {
                "title": {"type": "string", "maxLength": 200},
                "amount": DECIMAL_INPUT,
                "payment_terms": {**array(TERM), "maxItems": 24},
                "signed_date": {"type": "string", "pattern": DATE_PATTERN},
                "invoicing_policy": POLICY_INPUT,
                "business_line": {"type": "string", "maxLength": 32},
                "buyer_name": {"type": "string", "maxLength": 200},
                "buyer_tax_id": {"type": "string", "maxLength": 32},
            },
        ),
        "minProperties": 1,
    },
    responses={200: CONTRACT},
    errors=(403, 409),
)
def update_contract(ctx: Ctx, contract_id: int) -> Reply:
    changed = contracts.update_contract(
        ctx.session, actor=ctx.actor, contract_id=contract_id, data=ctx.body
    )
    return contract_body(ctx, changed)


@endpoint(
    "POST",
    "/contracts/<int:contract_id>/sign",
    tag="contracts",
    summary="签订合同(草稿 → 已签订)",
    path_schemas=PATH,
    body=obj({"signed_date": {"type": "string", "pattern": DATE_PATTERN}}),
    responses={200: CONTRACT},
    errors=(403, 409),
)
def sign_contract(ctx: Ctx, contract_id: int) -> Reply:
    signed = contracts.sign_contract(
        ctx.session, actor=ctx.actor, contract_id=contract_id, signed_on=ctx.body["signed_date"]
    )
    return contract_body(ctx, signed)
