"""Change requests (变更单) of an order: create, list, detail, submit, withdraw, and the
order's version history. Deciding goes through the approvals endpoints (`approval_request_id`).
Amounts are shown to those who may see the order's money and to the change's raiser."""

from __future__ import annotations

from typing import Any

from orderdesk.directory.permissions import can_see_money
from orderdesk.miniapp_api import serialize
from orderdesk.miniapp_api.registry import Ctx, Reply, endpoint
from orderdesk.miniapp_api.schemas import ID, INT, STR, array, nullable, obj, r
from orderdesk.models import ChangeRequest
from orderdesk.orders.changes import service as changes
from orderdesk.orders.changes.versions import versions_of

NO = {"no": {"type": "string", "minLength": 1, "maxLength": 32, "description": "订单号"}}
CR = {
    "cr": {
        "type": "string",
        "minLength": 1,
        "maxLength": 32,
        "description": "变更单号,如 SO-2026-0001-C1",
    }
}
SIGNED_MONEY = {
    "type": "string",
    "pattern": r"^[+-]?[0-9]{1,10}(\.[0-9]{1,2})?$",
    "maxLength": 14,
    "description": "变更金额,带符号,如 +30000 或 -5000.50",
}
CHANGE = obj(
    {
        "number": STR,
        "order_number": STR,
        "status": STR,
        "status_zh": STR,
        "scope": STR,
        "reason": {"type": ["string", "null"]},
        "amount_delta": r("MoneyOrNull"),
        "amount_before": r("MoneyOrNull"),
        "amount_after": r("MoneyOrNull"),
        "schedule_days": INT,
        "raised_by": r("StaffRef"),
        "attachment_ids": array(INT),
        "approval_request_id": nullable(INT),
        "created_at": r("DateTime"),
        "decided_at": r("DateTimeOrNull"),
    }
)
VERSION = obj(
    {
        "version": INT,
        "amount": r("MoneyOrNull"),
        "change_number": {"type": ["string", "null"]},
        "created_at": r("DateTimeOrNull"),
        "lines": nullable(array({"type": "object"})),
        "installments": nullable(array({"type": "object"})),
        "milestones": array({"type": "object"}),
        "end_date": r("DateOrNull"),
    }
)


def change_body(ctx: Ctx, change: ChangeRequest) -> dict[str, Any]:
    show = can_see_money(ctx.actor, change.order) or change.raised_by_id == ctx.actor.id
    request = changes.change_request_of(ctx.session, change)
    amount = serialize.money if show else (lambda _value: None)
    return {
        "number": change.number,
        "order_number": change.order.number,
        "status": change.status,
        "status_zh": change.status_zh,
        "scope": change.scope,
        "reason": change.reason,
        "amount_delta": amount(change.amount_delta),
        "amount_before": amount(change.amount_before),
        "amount_after": amount(change.amount_after),
        "schedule_days": change.schedule_days,
        "raised_by": {"userid": change.raised_by.userid, "name": change.raised_by.name},
        "attachment_ids": sorted(a.id for a in change.attachments),
        "approval_request_id": request.id if request is not None else None,
        "created_at": serialize.when(change.created_at, ctx.tz),
        "decided_at": serialize.when(change.decided_at, ctx.tz),
    }


@endpoint(
    "POST",
    "/orders/<no>/changes",
    tag="changes",
    summary="发起变更单(订单销售负责人或项目经理);submit=true 时直接提交审批",
    path_schemas=NO,
    body=obj(
        {"scope": {"type": "string", "minLength": 1, "maxLength": 2000}},
        {
            "amount_delta": SIGNED_MONEY,
            "schedule_days": {"type": "integer", "minimum": -3650, "maximum": 3650},
            "reason": {"type": "string", "maxLength": 2000},
            "attachment_ids": {**array(ID), "maxItems": 20},
            "submit": {"type": "boolean"},
        },
    ),
    responses={201: CHANGE},
    errors=(403, 409),
)
def create_change(ctx: Ctx, no: str) -> Reply:
    body = ctx.body
    data = changes.ChangeInput(
        scope=body["scope"],
        amount_delta=body.get("amount_delta", "0"),
        schedule_days=body.get("schedule_days", 0),
        reason=body.get("reason"),
        attachment_ids=body.get("attachment_ids", []),
    )
    change = changes.create_change(
        ctx.session, actor=ctx.actor, number=no, data=data, submit=bool(body.get("submit"))
    )
    ctx.session.flush()
    return change_body(ctx, change), 201


@endpoint(
    "GET",
    "/orders/<no>/changes",
    tag="changes",
    summary="订单的变更单列表",
    path_schemas=NO,
    responses={200: obj({"items": array(CHANGE)})},
)
def list_changes(ctx: Ctx, no: str) -> Reply:
    _order, rows = changes.changes_of(ctx.session, actor=ctx.actor, number=no)
    return {"items": [change_body(ctx, c) for c in rows]}


@endpoint(
    "GET",
    "/orders/<no>/versions",
    tag="changes",
    summary="订单版本历史(v1 原始订单,之后每个已批准变更一个版本)",
    path_schemas=NO,
    responses={200: obj({"items": array(VERSION)})},
)
def order_versions(ctx: Ctx, no: str) -> Reply:
    order, _rows = changes.changes_of(ctx.session, actor=ctx.actor, number=no)
    show = can_see_money(ctx.actor, order)
    items = [
        {
            "version": v.version,
            "amount": serialize.money(v.amount) if show else None,
            "change_number": v.change_number,
            "created_at": serialize.when(v.created_at, ctx.tz),
            "lines": v.snapshot.get("lines", []) if show else None,
            "installments": v.snapshot.get("installments", []) if show else None,
            "milestones": v.snapshot.get("milestones", []),
            "end_date": v.snapshot.get("end_date"),
        }
        for v in versions_of(ctx.session, order)
    ]
    return {"items": items}


@endpoint(
    "GET",
    "/changes/<cr>",
    tag="changes",
    summary="变更单详情",
    path_schemas=CR,
    responses={200: CHANGE},
)
def get_change(ctx: Ctx, cr: str) -> Reply:
    return change_body(ctx, changes.get_change(ctx.session, actor=ctx.actor, number=cr))


@endpoint(
    "POST",
    "/changes/<cr>/submit",
    tag="changes",
    summary="提交变更单审批(按订单类型的变更流程,门槛看变更金额绝对值)",
    path_schemas=CR,
    responses={200: CHANGE},
    errors=(403, 409),
)
def submit_change(ctx: Ctx, cr: str) -> Reply:
    change = changes.get_change(ctx.session, actor=ctx.actor, number=cr)
    changes.submit_change(ctx.session, actor=ctx.actor, change=change)
    ctx.session.flush()
    return change_body(ctx, change)


@endpoint(
    "POST",
    "/changes/<cr>/withdraw",
    tag="changes",
    summary="撤回变更单(草稿或审批中),订单不变",
    path_schemas=CR,
    responses={200: CHANGE},
    errors=(403, 409),
)
def withdraw_change(ctx: Ctx, cr: str) -> Reply:
    change = changes.get_change(ctx.session, actor=ctx.actor, number=cr)
    done = changes.withdraw_change(ctx.session, actor=ctx.actor, change=change)
    return change_body(ctx, done)
