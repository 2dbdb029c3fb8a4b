"""Approvals on the phone: what waits for me, what I decided, approve / reject."""

from __future__ import annotations

from typing import Any

from orderdesk.approvals import service as approvals
from orderdesk.miniapp_api import serialize
from orderdesk.miniapp_api.registry import Ctx, Reply, endpoint
from orderdesk.miniapp_api.schemas import NSTR, STR, array, nullable, obj, r
from orderdesk.orders.lookups import decided_by, get_approval_request


def _change_number(request: Any) -> str | None:
    change = request.change_request
    return change.number if request.kind == "change" and change is not None else None


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
        # issue 15: set when the request approves a change request (变更单), not the order
        "change_number": NSTR,
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
                    "step": approvals.step_label(ctx.session, req),
                    "order": serialize.order_summary(req.order, actor, tz),
                    "on_behalf_of": serialize.staff_ref(a.approver)
                    if a.approver_id != actor.id
                    else None,
                    "comment": None,
                    "at": serialize.when(a.created_at, tz),
                    "change_number": _change_number(req),
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
                    "change_number": _change_number(req),
                }
            )
    return {"items": items}


REQUEST_DETAIL = obj(
    {
        "request_id": {"type": "integer"},
        "status": STR,
        "current_step": NSTR,
        "submitted_by": r("StaffRef"),
        "submitted_at": r("DateTime"),
        "decided_at": r("DateTimeOrNull"),
        "order": r("OrderSummary"),
        "steps": array(obj({"sequence": {"type": "integer"}, "name": STR, "mode": NSTR})),
        "actions": array(
            obj(
                {
                    "step": {"type": "integer"},
                    "decision": STR,
                    "comment": NSTR,
                    "actor": r("StaffRef"),
                    "on_behalf_of": nullable(r("StaffRef")),
                    "at": r("DateTime"),
                }
            )
        ),
        "can_decide": {"type": "boolean"},
        "change_number": NSTR,
    }
)


@endpoint(
    "GET",
    "/approvals/<int:request_id>",
    tag="approvals",
    summary="审批详情(卡片跳转 pages/approval/detail?id= 使用)",
    responses={200: REQUEST_DETAIL},
)
def approval_detail(ctx: Ctx, request_id: int) -> Reply:
    req = get_approval_request(ctx.session, actor=ctx.actor, request_id=request_id)
    mine = {a.request_id for a in approvals.pending_for(ctx.session, actor=ctx.actor)}
    return {
        "request_id": req.id,
        "status": req.status,
        "current_step": approvals.step_label(ctx.session, req),
        "change_number": _change_number(req),
        "submitted_by": serialize.staff_ref(req.submitted_by),
        "submitted_at": serialize.when(req.created_at, ctx.tz),
        "decided_at": serialize.when(req.decided_at, ctx.tz),
        "order": serialize.order_summary(req.order, ctx.actor, ctx.tz),
        "steps": [
            {
                "sequence": int(step.get("sequence", i + 1)),
                "name": str(step.get("name", "")),
                "mode": step.get("mode"),
            }
            for i, step in enumerate(req.steps_snapshot or [])
        ],
        "actions": [
            {
                "step": a.step_sequence,
                "decision": a.decision,
                "comment": a.comment,
                "actor": serialize.staff_ref(a.actor),
                "on_behalf_of": serialize.staff_ref(a.on_behalf_of),
                "at": serialize.when(a.created_at, ctx.tz),
            }
            for a in req.actions
        ],
        "can_decide": req.id in mine,
    }


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
