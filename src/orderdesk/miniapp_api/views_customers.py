"""Customers within the caller's scope."""

from __future__ import annotations

from orderdesk.directory.customers import customer_detail, search_customers
from orderdesk.miniapp_api import cursors, serialize
from orderdesk.miniapp_api.cursors import CURSOR_SCHEMA
from orderdesk.miniapp_api.registry import Ctx, Reply, endpoint
from orderdesk.miniapp_api.schemas import array, obj, r
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
    summary="搜索客户(名称或简称)",
    query={
        "type": "object",
        "properties": {
            "q": {"type": "string", "maxLength": 64},
            "limit": {"type": "integer", "minimum": 1, "maximum": 50},
        },
    },
    responses={200: obj({"items": array(r("CustomerSummary"))})},
)
def customers(ctx: Ctx) -> Reply:
    found = search_customers(
        ctx.session, actor=ctx.actor, q=ctx.query.get("q"), limit=ctx.query.get("limit", 20)
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
