"""Orders: list, detail, create, edit (If-Match), submit, transition, progress with files."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask import request

from orderdesk.approvals import service as approvals
from orderdesk.core.errors import Conflict
from orderdesk.core.parsing import parse_day
from orderdesk.directory.permissions import can_see_money
from orderdesk.miniapp_api import cursors, serialize
from orderdesk.miniapp_api.cursors import CURSOR_SCHEMA
from orderdesk.miniapp_api.errors import ApiError
from orderdesk.miniapp_api.registry import Ctx, Reply, endpoint
from orderdesk.miniapp_api.schemas import DATE_PATTERN, DECIMAL_INPUT, ID, array, obj, r
from orderdesk.models import Order
from orderdesk.models.order import ORDER_STATUSES
from orderdesk.money.collections import money_summary
from orderdesk.orders import service as orders
from orderdesk.orders.attachments import MAX_FILES, Upload, discard_files, store_files
from orderdesk.orders.lookups import activity_page, preload_order_refs
from orderdesk.orders.queries import OrderFilters
from orderdesk.projects.service import project_summary

NO = {
    "no": {
        "type": "string",
        "minLength": 1,
        "maxLength": 32,
        "description": "订单号,如 SO-2026-0001",
    }
}
TEXT = {"type": "string", "maxLength": 200}
LINE = obj(
    {},
    {
        "service_item": {"type": "string", "maxLength": 32, "description": "服务项目编码"},
        "service_item_id": ID,
        "description": TEXT,
        "quantity": DECIMAL_INPUT,
        "unit": {"type": "string", "maxLength": 16},
        "unit_price": DECIMAL_INPUT,
        "billing_method": {"type": "string", "maxLength": 24},
    },
)
EDITABLE = {
    "customer": {"type": "string", "maxLength": 128, "description": "客户名称"},
    "customer_id": ID,
    "title": TEXT,
    "owner_userid": {"type": "string", "maxLength": 64},
    "contract": {"type": "string", "maxLength": 32, "description": "合同编号"},
    "contract_id": ID,
    "business_line": {"type": "string", "maxLength": 32},
    "business_line_id": ID,
    "lines": {**array(LINE), "maxItems": 100},
    "amount": {**DECIMAL_INPUT, "description": "手工改价金额(需 override_reason)"},
    "override_reason": {"type": "string", "maxLength": 500},
    "discount_rate": {
        "type": "string",
        "pattern": r"^0(\.[0-9]{1,4})?$",
        "description": "0.15 = 15%",
    },
    "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
    "custom_fields": {"type": "object", "maxProperties": 50},
}
CREATE_BODY = obj(
    {},
    {
        "order_type": {"type": "string", "maxLength": 32, "description": "订单类型编码"},
        "order_type_id": ID,
        **EDITABLE,
    },
)
UPDATE_BODY = {**obj({}, EDITABLE), "minProperties": 1}

DATE_INPUT = {"type": "string", "pattern": DATE_PATTERN}
LIST_QUERY = {
    "type": "object",
    "properties": {
        "status": {"type": "string", "enum": list(ORDER_STATUSES)},
        "customer": {**ID, "description": "客户 id"},
        "owner": {"type": "string", "maxLength": 64, "description": "负责人 userid"},
        "q": {
            "type": "string",
            "maxLength": 64,
            "description": "订单号、标题、客户名或自定义字段值的关键字",
        },
        # Issue 12a filters.
        "business_line": {"type": "string", "maxLength": 32, "description": "业务线编码"},
        "created_from": {**DATE_INPUT, "description": "创建日期起(含,公司时区)"},
        "created_to": {**DATE_INPUT, "description": "创建日期止(含,公司时区)"},
        "overdue": {
            "type": "string",
            "enum": ["true", "false"],
            "description": "true:只看有逾期分期的订单(仅限可查看金额的订单)",
        },
        "cursor": CURSOR_SCHEMA,
        "limit": {"type": "integer", "minimum": 1, "maximum": 100},
    },
}
DETAIL_QUERY = {
    "type": "object",
    "properties": {
        "timeline_cursor": CURSOR_SCHEMA,
        "timeline_limit": {"type": "integer", "minimum": 1, "maximum": 100},
    },
}
ETAG_RE = re.compile(r'^(?:W/)?"?([0-9]{1,9})"?$')


def etag(order: Order) -> dict[str, str]:
    return {"ETag": f'"{order.version}"'}


def order_detail_body(
    ctx: Ctx, order: Order, *, before: int | None = None, limit: int = 20
) -> dict[str, Any]:
    actor, session = ctx.actor, ctx.session
    show_money = can_see_money(actor, order)
    requests = approvals.requests_of(session, order)
    approval = None
    if requests:
        latest = requests[0]
        approval = {
            "request_id": latest.id,
            "status": latest.status,
            "current_step": approvals.current_step_label(session, order),
            "submitted_at": serialize.when(latest.created_at, ctx.tz),
            "decided_at": serialize.when(latest.decided_at, ctx.tz),
        }
    project = None
    if order.project is not None:
        summary = project_summary(session, order.project)
        project = {
            "code": summary.code,
            "name": summary.name,
            "status": summary.status,
            "percent_done": summary.percent_done,
            "next_milestone": summary.next_milestone,
            "hours": f"{summary.hours_total:f}",
        }
    items, nxt = activity_page(session, order_id=order.id, before_id=before, limit=limit)
    return {
        **serialize.order_summary(order, actor, ctx.tz),
        "lines": serialize.order_lines(order, show_money=show_money),
        "custom_fields": serialize.custom_field_values(order),
        "order_type": serialize.named_ref(order.order_type),
        "business_line": serialize.named_ref(order.business_line),
        "contract_number": order.contract.number if order.contract else None,
        "status_reason": order.status_reason,
        "approval": approval,
        "project": project,
        "money": serialize.money_summary(money_summary(session, order)) if show_money else None,
        "timeline": {
            "items": [serialize.activity(a, ctx.tz, actor) for a in items],
            "next_cursor": cursors.encode("act", nxt),
        },
    }


def _query_day(query: dict[str, Any], name: str) -> date | None:
    raw = query.get(name)
    if raw is None:
        return None
    day = parse_day(raw)
    if day is None:
        raise ApiError(422, fields={name: "日期无效"})
    return day


@endpoint(
    "GET",
    "/orders",
    tag="orders",
    summary="订单列表(按 id 倒序,游标分页)",
    query=LIST_QUERY,
    responses={200: r("OrderPage")},
)
def list_orders(ctx: Ctx) -> Reply:
    q = ctx.query
    limit = q.get("limit", 20)
    filters = OrderFilters(
        status=q.get("status"),
        customer_id=q.get("customer"),
        owner_userid=q.get("owner"),
        business_line=q.get("business_line"),
        created_from=_query_day(q, "created_from"),
        created_to=_query_day(q, "created_to"),
        overdue=q.get("overdue") == "true",
        q=q.get("q"),
    )
    found = orders.list_orders(
        ctx.session,
        actor=ctx.actor,
        filters=filters,
        after_id=cursors.decode("ord", q.get("cursor")),
        limit=limit + 1,
    )
    page = found[:limit]
    more = len(found) > limit
    preload_order_refs(ctx.session, page)
    return {
        "items": [serialize.order_summary(o, ctx.actor, ctx.tz) for o in page],
        "next_cursor": cursors.encode("ord", page[-1].id) if more and page else None,
    }


@endpoint(
    "GET",
    "/orders/<no>",
    tag="orders",
    summary="订单详情(明细、自定义字段、审批、项目、回款、动态)",
    path_schemas=NO,
    query=DETAIL_QUERY,
    responses={200: r("OrderDetail")},
)
def order_detail(ctx: Ctx, no: str) -> Reply:
    order = orders.get_order(ctx.session, actor=ctx.actor, number=no)
    body = order_detail_body(
        ctx,
        order,
        before=cursors.decode("act", ctx.query.get("timeline_cursor"), field="timeline_cursor"),
        limit=ctx.query.get("timeline_limit", 20),
    )
    return body, 200, etag(order)


@endpoint(
    "POST",
    "/orders",
    tag="orders",
    summary="新建订单(草稿)",
    body=CREATE_BODY,
    responses={201: r("OrderDetail")},
    errors=(403,),
)
def create_order(ctx: Ctx) -> Reply:
    order = orders.create_order(ctx.session, actor=ctx.actor, data=ctx.body)
    ctx.session.flush()
    headers = {**etag(order), "Location": f"/api/v1/orders/{order.number}"}
    return order_detail_body(ctx, order), 201, headers


def _if_match() -> int:
    raw = request.headers.get("If-Match")
    if raw is None:
        raise ApiError(428)
    match = ETAG_RE.match(raw.strip())
    if match is None:
        raise ApiError(412, 'If-Match 应为订单版本号,如 "3"')
    return int(match.group(1))


@endpoint(
    "PATCH",
    "/orders/<no>",
    tag="orders",
    summary="修改订单(If-Match 携带版本号,乐观锁)",
    path_schemas=NO,
    body=UPDATE_BODY,
    if_match=True,
    responses={200: r("OrderDetail")},
    errors=(403,),
)
def update_order(ctx: Ctx, no: str) -> Reply:
    expected = _if_match()
    current = orders.get_order(ctx.session, actor=ctx.actor, number=no)
    if current.version != expected:
        raise ApiError(
            412,
            f"订单已被修改(当前版本 {current.version}),请刷新后重试",
            headers=etag(current),
        )
    try:
        order = orders.update_order(
            ctx.session,
            actor=ctx.actor,
            number=no,
            changes=ctx.body,
            expected_version=expected,
        )
        ctx.session.flush()
    except Conflict as exc:
        if type(exc) is not Conflict:
            raise
        raise ApiError(412, exc.message) from exc
    return order_detail_body(ctx, order), 200, etag(order)


@endpoint(
    "POST",
    "/orders/<no>/submit",
    tag="orders",
    summary="提交审批",
    path_schemas=NO,
    responses={200: r("OrderDetail")},
    errors=(403, 409),
)
def submit_order(ctx: Ctx, no: str) -> Reply:
    submitted = approvals.submit(ctx.session, actor=ctx.actor, number=no)
    ctx.session.flush()
    order = submitted.order
    return order_detail_body(ctx, order), 200, etag(order)


@endpoint(
    "POST",
    "/orders/<no>/transition",
    tag="orders",
    summary="变更订单状态(开始、交付、验收、关闭、取消)",
    path_schemas=NO,
    body=obj(
        {"to": {"type": "string", "minLength": 1, "maxLength": 32}},
        {"reason": {"type": "string", "maxLength": 500}},
    ),
    responses={200: r("OrderDetail")},
    errors=(403, 409),
)
def transition_order(ctx: Ctx, no: str) -> Reply:
    order = orders.transition(
        ctx.session,
        actor=ctx.actor,
        number=no,
        to=ctx.body["to"],
        reason=ctx.body.get("reason"),
    )
    ctx.session.flush()
    return order_detail_body(ctx, order), 200, etag(order)


PROGRESS_FORM = {
    "type": "object",
    "properties": {
        "text": {"type": "string", "maxLength": 2000, "description": "进展内容"},
        "files": {
            "type": "array",
            "maxItems": MAX_FILES,
            "items": {"type": "string", "contentMediaType": "application/octet-stream"},
            "description": "附件(每个不超过 20 MB,类型见允许列表)",
        },
    },
    "additionalProperties": False,
}
PROGRESS_RESULT = obj(
    {
        "activity": r("Activity"),
        "attachments": array(
            obj(
                {"id": {"type": "integer"}, "name": {"type": "string"}, "size": {"type": "integer"}}
            )
        ),
    }
)


@endpoint(
    "POST",
    "/orders/<no>/progress",
    tag="orders",
    summary="记录进展(multipart:text + files)",
    path_schemas=NO,
    multipart=PROGRESS_FORM,
    responses={201: PROGRESS_RESULT},
    errors=(403,),
)
def add_progress(ctx: Ctx, no: str) -> Reply:
    # Scope first: nothing is stored for an order the caller may not see.
    order = orders.get_order(ctx.session, actor=ctx.actor, number=no)
    uploads = [
        Upload(f.filename or "file", f.read(), f.mimetype or "application/octet-stream")
        for f in ctx.body.get("files", [])
    ]
    stored, created = store_files(
        ctx.session,
        rt_settings=ctx.rt.settings,
        actor=ctx.actor,
        uploads=uploads,
        order_id=order.id,
    )
    try:
        ctx.session.flush()
        activity = orders.add_progress(
            ctx.session,
            actor=ctx.actor,
            number=order.number,
            text=ctx.body.get("text", ""),
            files=stored,
        )
        ctx.session.flush()
    except BaseException:
        discard_files(created)  # refused after writing: leave no file without its row
        raise
    return (
        {
            "activity": serialize.activity(activity, ctx.tz, ctx.actor),
            "attachments": [{"id": a.id, "name": a.name, "size": a.size} for a in stored],
        },
        201,
    )
