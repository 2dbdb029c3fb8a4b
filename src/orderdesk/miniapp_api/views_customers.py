"""Customers within the caller's scope."""

from __future__ import annotations

from orderdesk.directory import customer_admin
from orderdesk.directory.customers import customer_detail, search_customers
from orderdesk.miniapp_api import cursors, serialize
from orderdesk.miniapp_api.cursors import CURSOR_SCHEMA
from orderdesk.miniapp_api.registry import Ctx, Reply, endpoint
from orderdesk.miniapp_api.schemas import BOOL, ID, array, obj, r
from orderdesk.orders.lookups import preload_order_refs

CUSTOMER_DETAIL = obj(
    {
        "customer": r("CustomerSummary"),
        "contacts": array(r("Contact")),
        "contracts": array(r("ContractBrief")),
        "orders": array(r("OrderSummary")),
        "timeline": r("ActivityPage"),
    }
)


@endpoint(
    "GET",
    "/customers",
    tag="customers",
    summary="搜索客户(名称、简称、拼音首字母或联系人电话)",
    query={
        "type": "object",
        "properties": {
            "q": {"type": "string", "maxLength": 64},
            "limit": {"type": "integer", "minimum": 1, "maximum": 50},
            "archived": {
                "type": "string",
                "enum": ["true", "false"],
                "description": "true:包含已归档客户",
            },
        },
    },
    responses={200: obj({"items": array(r("CustomerSummary"))})},
)
def customers(ctx: Ctx) -> Reply:
    found = search_customers(
        ctx.session,
        actor=ctx.actor,
        q=ctx.query.get("q"),
        limit=ctx.query.get("limit", 20),
        include_archived=ctx.query.get("archived") == "true",
    )
    return {"items": [serialize.customer_summary(c) for c in found]}


@endpoint(
    "GET",
    "/customers/<int:customer_id>",
    tag="customers",
    summary="客户详情(订单、合同、联系人、动态)",
    query={
        "type": "object",
        "properties": {
            "timeline_cursor": CURSOR_SCHEMA,
            "timeline_limit": {"type": "integer", "minimum": 1, "maximum": 100},
        },
    },
    responses={200: CUSTOMER_DETAIL},
)
def customer(ctx: Ctx, customer_id: int) -> Reply:
    detail = customer_detail(
        ctx.session,
        actor=ctx.actor,
        customer_id=customer_id,
        timeline_before=cursors.decode(
            "act", ctx.query.get("timeline_cursor"), field="timeline_cursor"
        ),
        timeline_limit=ctx.query.get("timeline_limit", 20),
    )
    preload_order_refs(ctx.session, detail.orders)
    return {
        "customer": serialize.customer_summary(detail.customer),
        "contacts": [serialize.contact(c) for c in detail.contacts],
        "contracts": [
            serialize.contract_brief(c, show_money=detail.show_contract_money)
            for c in detail.contracts
        ],
        "orders": [serialize.order_summary(o, ctx.actor, ctx.tz) for o in detail.orders],
        "timeline": {
            "items": [serialize.activity(a, ctx.tz, ctx.actor) for a in detail.timeline],
            "next_cursor": cursors.encode("act", detail.timeline_next),
        },
    }


# -- master data: create, edit, archive, contacts (issue 12) -----------------------------------
SHORT = {"type": "string", "maxLength": 64}
CREDIT_CODE = {
    "type": ["string", "null"],
    "maxLength": 18,
    "description": "统一社会信用代码(18 位,校验位按 GB 32100-2015 检查)",
}
CONTACT_BODY = obj(
    {"name": {"type": "string", "minLength": 1, "maxLength": 64}},
    {
        "phone": {"type": ["string", "null"], "maxLength": 20},
        "title": {"type": ["string", "null"], "maxLength": 64},
        "email": {"type": ["string", "null"], "maxLength": 128},
    },
)
CUSTOMER_FIELDS = {
    "short_name": {"type": ["string", "null"], "maxLength": 64},
    "industry": {"type": ["string", "null"], "maxLength": 64},
    "credit_code": CREDIT_CODE,
}
CONTACT_PATH = {"contact_id": ID}


def _detail_reply(ctx: Ctx, customer_id: int, status: int = 200) -> Reply:
    payload = customer(ctx, customer_id)
    assert isinstance(payload, dict)
    return (payload, status) if status != 200 else payload


@endpoint(
    "POST",
    "/customers",
    tag="customers",
    summary="新建客户(含联系人;同名或同一信用代码的客户拒绝重复创建)",
    body=obj(
        {"name": {"type": "string", "minLength": 1, "maxLength": 128}},
        {**CUSTOMER_FIELDS, "contacts": {**array(CONTACT_BODY), "maxItems": 20}},
    ),
    responses={201: CUSTOMER_DETAIL},
    errors=(403, 409),
)
def create_customer(ctx: Ctx) -> Reply:
    created = customer_admin.create_customer(ctx.session, actor=ctx.actor, data=ctx.body)
    return _detail_reply(ctx, created.id, 201)


@endpoint(
    "PATCH",
    "/customers/<int:customer_id>",
    tag="customers",
    summary="修改客户(动态记录每项的旧值 → 新值)",
    body=obj({}, {"name": {"type": "string", "minLength": 1, "maxLength": 128}, **CUSTOMER_FIELDS}),
    responses={200: CUSTOMER_DETAIL},
    errors=(403, 409),
)
def update_customer(ctx: Ctx, customer_id: int) -> Reply:
    customer_admin.update_customer(
        ctx.session, actor=ctx.actor, customer_id=customer_id, data=ctx.body
    )
    return _detail_reply(ctx, customer_id)


@endpoint(
    "POST",
    "/customers/<int:customer_id>/archive",
    tag="customers",
    summary="归档客户(archived=false 恢复);订单与动态保留",
    body=obj({}, {"archived": BOOL}),
    responses={200: CUSTOMER_DETAIL},
    errors=(403,),
)
def archive_customer(ctx: Ctx, customer_id: int) -> Reply:
    customer_admin.archive_customer(
        ctx.session,
        actor=ctx.actor,
        customer_id=customer_id,
        archived=ctx.body.get("archived", True),
    )
    return _detail_reply(ctx, customer_id)


@endpoint(
    "POST",
    "/customers/<int:customer_id>/contacts",
    tag="customers",
    summary="新增联系人",
    body=CONTACT_BODY,
    responses={201: r("Contact")},
    errors=(403,),
)
def add_contact(ctx: Ctx, customer_id: int) -> Reply:
    added = customer_admin.add_contact(
        ctx.session, actor=ctx.actor, customer_id=customer_id, data=ctx.body
    )
    return serialize.contact(added), 201


@endpoint(
    "PATCH",
    "/customers/<int:customer_id>/contacts/<int:contact_id>",
    tag="customers",
    summary="修改联系人",
    body=obj({}, CONTACT_BODY["properties"]),
    responses={200: r("Contact")},
    errors=(403,),
    path_schemas=CONTACT_PATH,
)
def update_contact(ctx: Ctx, customer_id: int, contact_id: int) -> Reply:
    changed = customer_admin.update_contact(
        ctx.session, actor=ctx.actor, customer_id=customer_id, contact_id=contact_id, data=ctx.body
    )
    return serialize.contact(changed)
