"""Project expenses (issue 13): record one (multipart: category, amount, note, spent_on and a
receipt photo) and list a project's expenses. Members of the project, their managers and
finance; for anyone else the project answers 404 like a wrong code."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from orderdesk.core.parsing import DAY_RULE_ZH, parse_day
from orderdesk.miniapp_api import serialize
from orderdesk.miniapp_api.errors import ApiError
from orderdesk.miniapp_api.registry import Ctx, Reply, endpoint
from orderdesk.miniapp_api.schemas import DATE_PATTERN, DECIMAL_INPUT, INT, NSTR, STR, array, obj
from orderdesk.models import ProjectExpense
from orderdesk.orders.attachments import Upload
from orderdesk.projects.expenses import CATEGORIES, list_expenses, record_expense

CODE = {"code": {"type": "string", "minLength": 1, "maxLength": 32, "description": "项目编号"}}
CATEGORY_NAMES = [*CATEGORIES, *CATEGORIES.values()]
EXPENSE_FORM = {
    "type": "object",
    "required": ["category", "amount"],
    "properties": {
        "category": {"type": "string", "enum": CATEGORY_NAMES, "description": "类别"},
        "amount": {**DECIMAL_INPUT, "description": '金额(元),如 "320.00"'},
        "note": {"type": "string", "maxLength": 500},
        "spent_on": {"type": "string", "pattern": DATE_PATTERN, "description": "默认今天"},
        "files": {
            "type": "array",
            "maxItems": 1,
            "items": {"type": "string", "contentMediaType": "application/octet-stream"},
            "description": "票据照片(图片或 PDF,不超过 20 MB)",
        },
    },
    "additionalProperties": False,
}
EXPENSE = obj(
    {
        "id": INT,
        "category": STR,
        "category_name": STR,
        "amount": STR,
        "spent_on": STR,
        "note": NSTR,
        "photo": {"type": ["object", "null"]},
        "recorded_by": NSTR,
    }
)


def expense_body(e: ProjectExpense) -> dict[str, Any]:
    photo = e.attachment
    return {
        "id": e.id,
        "category": e.category,
        "category_name": CATEGORIES[e.category],
        "amount": str(e.amount),
        "spent_on": serialize.day(e.spent_on),
        "note": e.note,
        "photo": None if photo is None else {"id": photo.id, "name": photo.name},
        "recorded_by": e.recorded_by.name if e.recorded_by is not None else None,
    }


@endpoint(
    "POST",
    "/projects/<code>/expenses",
    tag="projects",
    summary="登记项目费用(multipart:类别、金额、备注、日期、票据照片)",
    path_schemas=CODE,
    multipart=EXPENSE_FORM,
    responses={201: EXPENSE},
    errors=(404,),
)
def create_expense(ctx: Ctx, code: str) -> Reply:
    spent_on = None
    if ctx.body.get("spent_on"):
        spent_on = parse_day(ctx.body["spent_on"])
        if spent_on is None:
            raise ApiError(422, fields={"spent_on": f"日期无效({DAY_RULE_ZH})"})
    files = ctx.body.get("files") or []
    photo = None
    if files:
        f = files[0]
        photo = Upload(f.filename or "票据", f.read(), f.mimetype or "application/octet-stream")
    expense = record_expense(
        ctx.session,
        actor=ctx.actor,
        settings=ctx.rt.settings,
        ref=code,
        category=ctx.body["category"],
        amount=ctx.body["amount"],
        note=ctx.body.get("note"),
        spent_on=spent_on,
        photo=photo,
    )
    return expense_body(expense), 201


@endpoint(
    "GET",
    "/projects/<code>/expenses",
    tag="projects",
    summary="项目费用列表",
    path_schemas=CODE,
    responses={200: obj({"project": STR, "total": STR, "items": array(EXPENSE)})},
    errors=(404,),
)
def expenses(ctx: Ctx, code: str) -> Reply:
    project, rows = list_expenses(ctx.session, actor=ctx.actor, ref=code)
    total = sum((e.amount for e in rows), Decimal("0.00"))
    return {
        "project": project.code,
        "total": f"{total:.2f}",
        "items": [expense_body(e) for e in rows],
    }
