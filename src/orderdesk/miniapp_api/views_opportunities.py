"""Opportunities (the sales pipeline) within the caller's scope."""

from __future__ import annotations

from typing import Any

from orderdesk.directory import opportunities as opps
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
from orderdesk.models import Opportunity

STAGES = list(opps.STAGE_ZH) + list(opps.STAGE_ZH.values())
STAGE_INPUT = {"type": "string", "enum": STAGES, "description": "阶段编码或中文名"}
OPPORTUNITY = obj(
    {
        "id": INT,
        "title": STR,
        "stage": STR,
        "stage_zh": STR,
        "customer": r("CustomerRef"),
        "owner": nullable(r("StaffRef")),
        "expected_amount": r("Money"),
        "expected_close_date": r("DateOrNull"),
        "close_reason": NSTR,
        "contract_number": NSTR,
    }
)
FIELDS = {
    "title": {"type": "string", "minLength": 1, "maxLength": 200},
    "expected_amount": DECIMAL_INPUT,
    "expected_close_date": {"type": ["string", "null"], "pattern": DATE_PATTERN},
}
OPP_PATH = {"opportunity_id": ID}


def opportunity(item: Opportunity) -> dict[str, Any]:
    contract = item.contracts[-1] if item.contracts else None
    return {
        "id": item.id,
        "title": item.title,
        "stage": item.stage,
        "stage_zh": opps.STAGE_ZH[item.stage],
        "customer": {"id": item.customer.id, "name": item.customer.name},
        "owner": serialize.staff_ref(item.owner),
        "expected_amount": serialize.money(item.expected_amount),
        "expected_close_date": serialize.day(item.expected_close_date),
        "close_reason": item.close_reason,
        "contract_number": contract.number if contract else None,
    }


@endpoint(
    "GET",
    "/opportunities",
    tag="opportunities",
    summary="商机管道(按阶段分组,含数量与预计金额合计)",
    query={
        "type": "object",
        "properties": {
            "stage": STAGE_INPUT,
            "limit": {"type": "integer", "minimum": 1, "maximum": 200},
        },
    },
    responses={
        200: obj(
            {
                "stages": array(
                    obj(
                        {
                            "stage": STR,
                            "stage_zh": STR,
                            "count": INT,
                            "expected_total": r("Money"),
                            "items": array(OPPORTUNITY),
                        }
                    )
                )
            }
        )
    },
)
def list_opportunities(ctx: Ctx) -> Reply:
    columns = opps.pipeline(
        ctx.session,
        actor=ctx.actor,
        stage=ctx.query.get("stage"),
        limit=ctx.query.get("limit", 50),
    )
    return {
        "stages": [
            {
                "stage": c.stage,
                "stage_zh": opps.STAGE_ZH[c.stage],
                "count": c.count,
                "expected_total": serialize.money(c.expected_total),
                "items": [opportunity(o) for o in c.items],
            }
            for c in columns
        ]
    }


@endpoint(
    "POST",
    "/opportunities",
    tag="opportunities",
    summary="新建商机",
    body=obj(
        {"customer_id": ID, "title": FIELDS["title"]},
        {
            "expected_amount": DECIMAL_INPUT,
            "expected_close_date": FIELDS["expected_close_date"],
            "stage": STAGE_INPUT,
            "business_line": {"type": "string", "maxLength": 32},
        },
    ),
    responses={201: OPPORTUNITY},
    errors=(403, 404),
)
def create_opportunity(ctx: Ctx) -> Reply:
    created = opps.create_opportunity(ctx.session, actor=ctx.actor, data=ctx.body)
    return opportunity(created), 201


@endpoint(
    "GET",
    "/opportunities/<int:opportunity_id>",
    tag="opportunities",
    summary="商机详情",
    path_schemas=OPP_PATH,
    responses={200: OPPORTUNITY},
)
def get_opportunity(ctx: Ctx, opportunity_id: int) -> Reply:
    found = opps.get_opportunity(ctx.session, actor=ctx.actor, opportunity_id=opportunity_id)
    return opportunity(found)


@endpoint(
    "PATCH",
    "/opportunities/<int:opportunity_id>",
    tag="opportunities",
    summary="修改商机(名称、预计金额、预计成交日期)",
    path_schemas=OPP_PATH,
    body={**obj({}, FIELDS), "minProperties": 1},
    responses={200: OPPORTUNITY},
    errors=(409,),
)
def update_opportunity(ctx: Ctx, opportunity_id: int) -> Reply:
    changed = opps.update_opportunity(
        ctx.session, actor=ctx.actor, opportunity_id=opportunity_id, data=ctx.body
    )
    return opportunity(changed)


@endpoint(
    "POST",
    "/opportunities/<int:opportunity_id>/stage",
    tag="opportunities",
    summary="变更商机阶段(赢单生成合同草稿;输单须写原因)",
    path_schemas=OPP_PATH,
    body=obj({"stage": STAGE_INPUT}, {"reason": {"type": "string", "maxLength": 500}}),
    responses={200: OPPORTUNITY},
    errors=(409,),
)
def move_opportunity(ctx: Ctx, opportunity_id: int) -> Reply:
    moved = opps.move_stage(
        ctx.session,
        actor=ctx.actor,
        opportunity_id=opportunity_id,
        stage=ctx.body["stage"],
        reason=ctx.body.get("reason"),
    )
    ctx.session.refresh(moved)
    return opportunity(moved)
