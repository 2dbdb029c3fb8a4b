"""Contracts within the caller's scope: detail, edit (terms regenerate the plan), sign."""

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
        "amount": r("MoneyOrNull"),
        "payment_terms": nullable(array({"type": "object"})),
        "installments": nullable(array(INSTALLMENT)),
    }
)
TERM = {
    "type": "object",
    "description": '{"name","percent"|"amount","trigger":"on_signing"|"on_date"|"on_milestone"'
    '|"on_event","days"?,"date"?,"milestone"?,"event"?}',
}


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
    summary="修改合同(名称、金额、付款条款、签订日期);条款变更重新生成未付部分的付款计划",
    path_schemas=PATH,
    body={
        **obj(
            {},
            {
                "title": {"type": "string", "maxLength": 200},
                "amount": DECIMAL_INPUT,
                "payment_terms": {**array(TERM), "maxItems": 24},
                "signed_date": {"type": "string", "pattern": DATE_PATTERN},
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
