"""Approvals on the phone: what waits for me, what I decided, approve / reject."""

from __future__ import annotations

from typing import Any

from miniapp_api import serialize
from miniapp_api.registry import Ctx, Reply, endpoint
from miniapp_api.schemas import NSTR, STR, array, nullable, obj, r
from services import approvals
from services.lookups import decided_by

ITEM = obj(
    {
        "request_id": {"type": "integer"},
        "assignment_id": {"type": ["integer", "null"]},
        "state": STR,
        "step": NSTR,
        "order": r("OrderSummary"),
        "on_behalf_of": nullable(r("StaffRef")),
        "comment": NSTR,
        "at": r("DateTime"),
    }
)
DECISION_RESULT = obj(
    {
        "message": STR,
        "decision": {"type": "string", "enum": ["approve", "reject"]},
        "request_status": STR,
        "order_number": STR,
        "order_status": STR,
    }
)


@endpoint(
    "GET",
    "/approvals",
    tag="approvals",
    summary="我的审批:待我审批(pending)或我已审批(done)",
    query={
        "type": "object",
        "properties": {"state": {"type": "string", "enum": ["pending", "done"]}},
    },
    responses={200: obj({"items": array(ITEM)})},
)
def list_approvals(ctx: Ctx) -> Reply:
    actor, tz = ctx.actor, ctx.tz
    items: list[dict[str, Any]] = []
    if ctx.query.get("state", "pending") == "pending":
        for a in approvals.pending_for(ctx.session, actor=actor):
            req = a.request
            items.append(
                {
                    "request_id": req.id,
                    "assignment_id": a.id,
                    "state": "pending",
                    "step": approvals.current_step_label(ctx.session, req.order),
                    "order": serialize.order_summary(req.order, actor, tz),
                    "on_behalf_of": serialize.staff_ref(a.approver)
                    if a.approver_id != actor.id
                    else None,
                    "comment": None,
                    "at": serialize.when(a.created_at, tz),
                }
            )
    else:
        for action in decided_by(ctx.session, actor=actor):
            req = action.request
            step = next(
                (s for s in req.steps_snapshot if s.get("sequence") == action.step_sequence),
                None,
            )
            items.append(
                {
                    "request_id": req.id,
                    "assignment_id": None,
                    "state": "approved" if action.decision == "approve" else "rejected",
                    "step": step.get("name") if step else None,
                    "order": serialize.order_summary(req.order, actor, tz),
                    "on_behalf_of": serialize.staff_ref(action.on_behalf_of),
                    "comment": action.comment,
                    "at": serialize.when(action.created_at, tz),
                }
            )
    return {"items": items}


def _decide(ctx: Ctx, request_id: int, decision: str) -> Reply:
    result = approvals.decide(
        ctx.session,
        actor=ctx.actor,
        request_id=request_id,
        decision=decision,
        comment=ctx.body.get("comment"),
    )
    return {
        "message": result.message,
        "decision": result.decision,
        "request_status": result.request.status,
        "order_number": result.request.order.number,
        "order_status": result.order_status,
    }


COMMENT = {"type": "string", "maxLength": 500}


@endpoint(
    "POST",
    "/approvals/<int:request_id>/approve",
    tag="approvals",
    summary="同意(当前步骤)",
    body=obj({}, {"comment": COMMENT}),
    responses={200: DECISION_RESULT},
    errors=(403, 409),
)
def approve(ctx: Ctx, request_id: int) -> Reply:
    return _decide(ctx, request_id, "approve")


@endpoint(
    "POST",
    "/approvals/<int:request_id>/reject",
    tag="approvals",
    summary="驳回(必须填写原因)",
    body=obj({"comment": {**COMMENT, "minLength": 1}}),
    responses={200: DECISION_RESULT},
    errors=(403, 409),
)
def reject(ctx: Ctx, request_id: int) -> Reply:
    return _decide(ctx, request_id, "reject")
