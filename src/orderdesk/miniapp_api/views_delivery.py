"""Client status links (issue 15): create, list and revoke; the page itself is /c/<token>."""

from __future__ import annotations

from typing import Any

from orderdesk.delivery import status_links
from orderdesk.miniapp_api import serialize
from orderdesk.miniapp_api.registry import Ctx, Reply, endpoint
from orderdesk.miniapp_api.schemas import INT, STR, array, obj, r
from orderdesk.miniapp_api.views_orders import NO
from orderdesk.models import ClientLink

LINK_FIELDS = {
    "id": INT,
    "order_number": STR,
    "created_at": r("DateTime"),
    "expires_at": r("DateTime"),
    "revoked_at": r("DateTimeOrNull"),
    "views": INT,
    "last_viewed_at": r("DateTimeOrNull"),
}
LINK = obj(LINK_FIELDS)
# The token is shown once, in the answer that creates it; it is never stored in the clear.
ISSUED = obj({**LINK_FIELDS, "url": {"type": "string", "description": "发给客户的链接"}})


def _link(ctx: Ctx, link: ClientLink) -> dict[str, Any]:
    tz = ctx.tz
    return {
        "id": link.id,
        "order_number": link.order.number,
        "created_at": serialize.when(link.created_at, tz),
        "expires_at": serialize.when(link.expires_at, tz),
        "revoked_at": serialize.when(link.revoked_at, tz),
        "views": link.views,
        "last_viewed_at": serialize.when(link.last_viewed_at, tz),
    }


@endpoint(
    "POST",
    "/orders/<no>/status-links",
    tag="delivery",
    summary="生成客户进度链接(只读、无金额、可撤销、到期失效)",
    path_schemas=NO,
    body=obj(
        {},
        {
            "days": {
                "type": "integer",
                "minimum": 1,
                "maximum": status_links.MAX_DAYS,
                "description": f"有效天数,默认 {status_links.DEFAULT_DAYS}",
            }
        },
    ),
    responses={201: ISSUED},
    errors=(403,),
)
def create_status_link(ctx: Ctx, no: str) -> Reply:
    issued = status_links.create_link(
        ctx.session,
        actor=ctx.actor,
        number=no,
        secret=ctx.rt.settings.secret_key,
        days=ctx.body.get("days"),
    )
    body = _link(ctx, issued.link)
    body["url"] = status_links.link_url(ctx.rt.settings.public_url, issued.token)
    return body, 201


@endpoint(
    "GET",
    "/orders/<no>/status-links",
    tag="delivery",
    summary="订单的客户进度链接(查看次数、是否撤销)",
    path_schemas=NO,
    responses={200: obj({"items": array(LINK)})},
)
def list_status_links(ctx: Ctx, no: str) -> Reply:
    links = status_links.links_of(ctx.session, actor=ctx.actor, number=no)
    return {"items": [_link(ctx, link) for link in links]}


@endpoint(
    "POST",
    "/status-links/<int:link_id>/revoke",
    tag="delivery",
    summary="撤销客户进度链接",
    responses={200: LINK},
    errors=(403,),
)
def revoke_status_link(ctx: Ctx, link_id: int) -> Reply:
    link = status_links.revoke_link(ctx.session, actor=ctx.actor, link_id=link_id)
    return _link(ctx, link)
