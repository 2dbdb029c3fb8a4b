"""Money on an order (plan, invoices, receipts), recording receipts (finance), overdue list."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from orderdesk.core.parsing import DAY_RULE_ZH, parse_day
from orderdesk.miniapp_api import serialize
from orderdesk.miniapp_api.errors import ApiError
from orderdesk.miniapp_api.registry import Ctx, Reply, endpoint
from orderdesk.miniapp_api.schemas import (
    BOOL,
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
from orderdesk.models import Installment, Invoice, PaymentPlan, Receipt
from orderdesk.models.money import TRIGGERS
from orderdesk.money import invoices
from orderdesk.money.collections import money_summary, overdue_for
from orderdesk.money.credit import apply_credit
from orderdesk.money.plan_edits import edit_plan
from orderdesk.money.receipts import ReceiptResult, record_receipt, reverse_receipt
from orderdesk.orders import service as orders
from orderdesk.orders.lookups import payments_of

NO = {"no": {"type": "string", "minLength": 1, "maxLength": 32}}
MONEY = r("Money")
INSTALLMENT = obj(
    {
        "id": INT,
        "sequence": INT,
        "name": STR,
        "trigger": STR,
        "due_date": r("DateOrNull"),
        "status": STR,
        "amount": MONEY,
        "paid_amount": MONEY,
        "invoiced_amount": MONEY,
        "outstanding": MONEY,
    }
)
INVOICE = obj(
    {
        "id": INT,
        "number": STR,
        "installment_id": INT,
        "amount": MONEY,
        "tax_rate": STR,
        "issue_date": r("Date"),
        "status": {**STR, "description": "issued / void / reversed(已红冲) / red(红字发票)"},
        "kind": {**STR, "description": "e_special / e_general / paper_special / paper_general"},
        "kind_name": STR,
        "amount_excl_tax": r("MoneyOrNull"),
        "tax_amount": r("MoneyOrNull"),
        "buyer_name": NSTR,
        "buyer_tax_id": NSTR,
        "red_of_id": {"type": ["integer", "null"]},
        "reason": NSTR,
    }
)
RECEIPT = obj(
    {
        "id": INT,
        "number": STR,
        "amount": MONEY,
        "allocated": MONEY,
        "credit_amount": MONEY,
        "received_on": r("Date"),
        "method": STR,
        "note": NSTR,
        # Reversed receipts stay listed (audit trail) and count for nothing.
        "reversed": BOOL,
        "reversed_at": r("DateTimeOrNull"),
        "reverse_reason": NSTR,
    }
)
PLAN = obj({"id": INT, "total": MONEY, "installments": array(INSTALLMENT)})
PAYMENTS = obj(
    {
        "order_number": STR,
        "plan": nullable(PLAN),
        "invoices": array(INVOICE),
        "receipts": array(RECEIPT),
        "summary": r("MoneySummary"),
    }
)
RECEIPT_RESULT = obj(
    {
        "receipt": RECEIPT,
        "allocations": array(obj({"installment_id": INT, "name": STR, "amount": MONEY})),
        "credit": MONEY,
        "summary": r("MoneySummary"),
    }
)
OVERDUE_ITEM = obj(
    {
        "order_number": STR,
        "order_title": STR,
        "installment_id": INT,
        "installment_name": STR,
        "due_date": r("Date"),
        "days_overdue": INT,
        "outstanding": MONEY,
        "owner": r("StaffRef"),
    }
)
OVERDUE = obj(
    {
        "customers": array(
            obj(
                {
                    "customer": r("CustomerRef"),
                    "total": MONEY,
                    "count": INT,
                    "oldest_due": r("DateOrNull"),
                    "items": array(OVERDUE_ITEM),
                }
            )
        ),
        "total": MONEY,
    }
)
m = serialize.money


@endpoint(
    "GET",
    "/orders/<no>/payments",
    tag="payments",
    summary="订单回款信息(付款计划、发票、收款)",
    path_schemas=NO,
    responses={200: PAYMENTS},
    errors=(403,),
)
def order_payments(ctx: Ctx, no: str) -> Reply:
    order = orders.get_order(ctx.session, actor=ctx.actor, number=no)
    p = payments_of(ctx.session, actor=ctx.actor, order=order)
    plan = _plan(p.plan, p.installments) if p.plan is not None else None
    return {
        "order_number": order.number,
        "plan": plan,
        "invoices": [_invoice(inv) for inv in p.invoices],
        "receipts": [_receipt(ctx, rc, share) for rc, share in p.receipts],
        "summary": serialize.money_summary(money_summary(ctx.session, order)),
    }


@endpoint(
    "POST",
    "/orders/<no>/receipts",
    tag="payments",
    summary="登记回款(仅财务)",
    path_schemas=NO,
    body=obj(
        {"amount": {**DECIMAL_INPUT, "description": '收款金额,如 "30000.00"'}},
        {
            "received_on": {"type": "string", "pattern": DATE_PATTERN, "description": "默认今天"},
            "note": {"type": "string", "maxLength": 500},
            "confirm_duplicate": {
                **BOOL,
                "description": "同一合同 7 天内已有同额回款时须为 true,否则 409 possible_duplicate",
            },
        },
    ),
    responses={201: RECEIPT_RESULT},
    errors=(403, 409),
)
def add_receipt(ctx: Ctx, no: str) -> Reply:
    order = orders.get_order(ctx.session, actor=ctx.actor, number=no)
    received_on = None
    if "received_on" in ctx.body:
        received_on = parse_day(ctx.body["received_on"])
        if received_on is None:
            raise ApiError(422, fields={"received_on": f"日期无效({DAY_RULE_ZH})"})
    result = record_receipt(
        ctx.session,
        actor=ctx.actor,
        number=order.number,
        amount=ctx.body["amount"],
        received_on=received_on,
        note=ctx.body.get("note"),
        confirm_duplicate=bool(ctx.body.get("confirm_duplicate", False)),
    )
    ctx.session.flush()
    return _receipt_result(ctx, result), 201


RNO = {"rno": {"type": "string", "minLength": 1, "maxLength": 32}}


@endpoint(
    "POST",
    "/receipts/<rno>/reverse",
    tag="payments",
    summary="冲销(撤销)回款,须填写原因(仅财务)",
    path_schemas=RNO,
    body=obj({"reason": {"type": "string", "minLength": 1, "maxLength": 500}}),
    responses={200: RECEIPT_RESULT},
    errors=(403, 404, 409),
)
def reverse(ctx: Ctx, rno: str) -> Reply:
    result = reverse_receipt(
        ctx.session, actor=ctx.actor, receipt_number=rno, reason=ctx.body["reason"]
    )
    ctx.session.flush()
    return _receipt_result(ctx, result)


def _plan(plan: PaymentPlan, installments: list[Installment]) -> dict[str, Any]:
    return {
        "id": plan.id,
        "total": m(plan.total),
        "installments": [
            {
                "id": i.id,
                "sequence": i.sequence,
                "name": i.name,
                "trigger": i.trigger,
                "due_date": serialize.day(i.due_date),
                "status": i.status,
                "amount": m(i.amount),
                "paid_amount": m(i.paid_amount),
                "invoiced_amount": m(i.invoiced_amount),
                "outstanding": m(i.outstanding),
            }
            for i in installments
        ],
    }


def _receipt(ctx: Ctx, rc: Receipt, allocated: Decimal) -> dict[str, Any]:
    return {
        "id": rc.id,
        "number": rc.number,
        "amount": m(rc.amount),
        "allocated": m(allocated),
        "credit_amount": m(rc.credit_amount),
        "received_on": serialize.day(rc.received_on),
        "method": rc.method,
        "note": rc.note,
        "reversed": rc.reversed_at is not None,
        "reversed_at": serialize.when(rc.reversed_at, ctx.tz),
        "reverse_reason": rc.reverse_reason,
    }


def _receipt_result(ctx: Ctx, result: ReceiptResult) -> dict[str, Any]:
    """A recorded receipt (allocations, credit) or a reversal (what it restored, credit < 0)."""
    allocated = sum((amount for _, amount in result.allocations), serialize.ZERO)
    return {
        "receipt": _receipt(ctx, result.receipt, allocated),
        "allocations": [
            {"installment_id": inst.id, "name": inst.name, "amount": m(amount)}
            for inst, amount in result.allocations
        ],
        "credit": m(result.credit),
        "summary": serialize.money_summary(result.summary),
    }


@endpoint(
    "GET",
    "/overdue",
    tag="payments",
    summary="逾期应收(按客户汇总,仅本人可见范围)",
    responses={200: OVERDUE},
)
def overdue(ctx: Ctx) -> Reply:
    groups = overdue_for(ctx.session, actor=ctx.actor)
    total = sum((g.total for g in groups), serialize.ZERO)
    return {
        "customers": [
            {
                "customer": {"id": g.customer_id, "name": g.customer_name},
                "total": m(g.total),
                "count": g.count,
                "oldest_due": serialize.day(g.oldest_due),
                "items": [
                    {
                        "order_number": it.order_number,
                        "order_title": it.order_title,
                        "installment_id": it.installment_id,
                        "installment_name": it.installment_name,
                        "due_date": serialize.day(it.due_date),
                        "days_overdue": it.days_overdue,
                        "outstanding": m(it.outstanding),
                        "owner": {"userid": it.owner_userid, "name": it.owner_name},
                    }
                    for it in g.items
                ],
            }
            for g in groups
        ],
        "total": m(total),
    }


CREDIT_RESULT = obj(
    {
        "installment": obj({"id": INT, "name": STR, "paid_amount": MONEY, "status": STR}),
        "amount": MONEY,
        "from_receipts": array(obj({"number": STR, "amount": MONEY})),
        "credit_left": MONEY,
        "summary": r("MoneySummary"),
    }
)


@endpoint(
    "POST",
    "/orders/<no>/credit-applications",
    tag="payments",
    summary="用客户预收抵扣该订单的一个分期(仅财务)",
    path_schemas=NO,
    body=obj(
        {"installment_id": ID},
        {"amount": {**DECIMAL_INPUT, "description": "默认:分期未收与可用预收中较小者"}},
    ),
    responses={201: CREDIT_RESULT},
    errors=(403,),
)
def apply_customer_credit(ctx: Ctx, no: str) -> Reply:
    result = apply_credit(
        ctx.session,
        actor=ctx.actor,
        number=no,
        installment_id=ctx.body["installment_id"],
        amount=ctx.body.get("amount"),
    )
    ctx.session.flush()
    inst = result.installment
    return {
        "installment": {
            "id": inst.id,
            "name": inst.name,
            "paid_amount": m(inst.paid_amount),
            "status": inst.status,
        },
        "amount": m(result.amount),
        "from_receipts": [
            {"number": a.receipt.number, "amount": m(a.amount)} for a in result.applications
        ],
        "credit_left": m(result.credit_left),
        "summary": serialize.money_summary(result.summary),
    }, 201


PLAN_EDIT = obj(
    {"id": ID},
    {
        "amount": DECIMAL_INPUT,
        "due_date": {"type": ["string", "null"], "pattern": DATE_PATTERN},
        "trigger": {"type": "string", "enum": list(TRIGGERS)},
        "trigger_days": {"type": "integer", "minimum": 0, "maximum": 3650},
        "trigger_event": {"type": ["string", "null"], "maxLength": 32},
    },
)


@endpoint(
    "PATCH",
    "/orders/<no>/payment-plan",
    tag="payments",
    summary="调整付款计划的分期(金额、到期日、触发条件;合计须等于合同金额,已收/已开票部分锁定)",
    path_schemas=NO,
    body=obj({"installments": {**array(PLAN_EDIT), "minItems": 1, "maxItems": 50}}),
    responses={200: obj({"plan": PLAN, "changes": INT, "summary": r("MoneySummary")})},
    errors=(403,),
)
def edit_payment_plan(ctx: Ctx, no: str) -> Reply:
    result = edit_plan(ctx.session, actor=ctx.actor, number=no, edits=ctx.body["installments"])
    return {
        "plan": _plan(result.plan, result.installments),
        "changes": len(result.changes),
        "summary": serialize.money_summary(money_summary(ctx.session, result.order)),
    }


def _invoice(inv: Invoice) -> dict[str, Any]:
    return {
        "id": inv.id,
        "number": inv.number,
        "installment_id": inv.installment_id,
        "amount": m(inv.amount),
        "tax_rate": f"{inv.tax_rate:f}",
        "issue_date": serialize.day(inv.issue_date),
        "status": inv.status,
        "kind": inv.kind,
        "kind_name": invoices.KIND_ZH.get(inv.kind, inv.kind),
        "amount_excl_tax": m(inv.amount_excl_tax),
        "tax_amount": m(inv.tax_amount),
        "buyer_name": inv.buyer_name,
        "buyer_tax_id": inv.buyer_tax_id,
        "red_of_id": inv.red_of_id,
        "reason": inv.void_reason,
    }


@endpoint(
    "POST",
    "/orders/<no>/invoices",
    tag="payments",
    summary="为订单的一个分期开具发票(仅财务)",
    description="税额 = round_half_up(含税金额 × 税率 / (1 + 税率), 2),"
    "不含税金额 = 含税金额 - 税额。",
    path_schemas=NO,
    body=obj(
        {"installment": {"type": ["integer", "string"], "description": "分期 id 或名称,如 首付款"}},
        {
            "amount": {**DECIMAL_INPUT, "description": "含税金额,默认该分期未开票部分"},
            "kind": {"type": "string", "enum": [*invoices.KIND_ZH, *invoices.KIND_ZH.values()]},
            "tax_rate": {"type": "string", "pattern": r"^[0-9]{1,2}(\.[0-9]{1,4})?%?$"},
            "buyer_name": {"type": "string", "maxLength": 200},
            "buyer_tax_id": {"type": "string", "maxLength": 32},
            "number": {"type": "string", "minLength": 1, "maxLength": 32},
            "issue_date": {"type": "string", "pattern": DATE_PATTERN},
        },
    ),
    responses={201: INVOICE},
    errors=(403, 409),
)
def issue_order_invoice(ctx: Ctx, no: str) -> Reply:
    issue_date = None
    if "issue_date" in ctx.body:
        issue_date = parse_day(ctx.body["issue_date"])
        if issue_date is None:
            raise ApiError(422, fields={"issue_date": f"日期无效({DAY_RULE_ZH})"})
    _order, _inst, inv = invoices.issue_for_order(
        ctx.session,
        actor=ctx.actor,
        order_number=no,
        installment=ctx.body["installment"],
        amount=ctx.body.get("amount"),
        tax_rate=ctx.body.get("tax_rate"),
        issue_date=issue_date,
        number=ctx.body.get("number"),
        kind=ctx.body.get("kind"),
        buyer=invoices.Buyer(ctx.body.get("buyer_name"), ctx.body.get("buyer_tax_id")),
    )
    ctx.session.flush()
    return _invoice(inv), 201


INO = {"ino": {"type": "string", "minLength": 1, "maxLength": 32}}
REASON = obj({"reason": {"type": "string", "minLength": 1, "maxLength": 500}})


@endpoint(
    "POST",
    "/invoices/<ino>/void",
    tag="payments",
    summary="作废发票(仅纸质发票;数电发票请红冲),须填写原因(仅财务)",
    path_schemas=INO,
    body=REASON,
    responses={200: INVOICE},
    errors=(403, 404, 409),
)
def void(ctx: Ctx, ino: str) -> Reply:
    inv = invoices.void_invoice(ctx.session, actor=ctx.actor, number=ino, reason=ctx.body["reason"])
    return _invoice(inv)


@endpoint(
    "POST",
    "/invoices/<ino>/red-letter",
    tag="payments",
    summary="开具红字发票冲销一张已开发票,须填写原因(仅财务)",
    path_schemas=INO,
    body=obj(
        {"reason": {"type": "string", "minLength": 1, "maxLength": 500}},
        {"red_number": {"type": "string", "minLength": 1, "maxLength": 32}},
    ),
    responses={201: INVOICE},
    errors=(403, 404, 409),
)
def red_letter(ctx: Ctx, ino: str) -> Reply:
    red = invoices.red_letter(
        ctx.session,
        actor=ctx.actor,
        number=ino,
        reason=ctx.body["reason"],
        red_number=ctx.body.get("red_number"),
    )
    ctx.session.flush()
    return _invoice(red), 201
