"""Shared response shapes (OpenAPI components). Request bodies are declared beside endpoints."""

from __future__ import annotations

from typing import Any

from orderdesk.models.order import ORDER_STATUSES

# [0-9], never \d: the validator's regex engine lets \d match any Unicode digit ("１００").
MONEY_PATTERN = r"^-?[0-9]+\.[0-9]{2}$"
DATETIME_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?[+-][0-9]{2}:[0-9]{2}$"
)
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"

# Request-side decimal strings: "1200", "1200.5", "1200.50".
DECIMAL_INPUT = {"type": "string", "pattern": r"^[0-9]{1,14}(\.[0-9]{1,2})?$", "maxLength": 17}


def obj(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    """A closed object schema: `required` keys must be present, nothing undeclared allowed."""
    return {
        "type": "object",
        "properties": {**required, **(optional or {})},
        "required": list(required),
        "additionalProperties": False,
    }


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def r(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


# Database ids are 32-bit on every backend; bigger numbers are refused before any query.
MAX_ID = 2**31 - 1
ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
STR = {"type": "string"}
INT = {"type": "integer"}
BOOL = {"type": "boolean"}
NSTR = {"type": ["string", "null"]}

COMPONENTS: dict[str, dict[str, Any]] = {
    "Error": obj(
        {
            "error": obj(
                {
                    "code": STR,
                    "message": STR,
                    "fields": {"type": "object", "additionalProperties": STR},
                }
            )
        }
    ),
    "Money": {
        "type": "string",
        "pattern": MONEY_PATTERN,
        "description": "金额,两位小数的十进制字符串",
    },
    "MoneyOrNull": {
        "type": ["string", "null"],
        "pattern": MONEY_PATTERN,
        "description": "金额;无权查看金额时为 null",
    },
    "DateTime": {
        "type": "string",
        "pattern": DATETIME_PATTERN,
        "description": "ISO 8601,带时区偏移",
    },
    "DateTimeOrNull": {"type": ["string", "null"], "pattern": DATETIME_PATTERN},
    "Date": {"type": "string", "pattern": DATE_PATTERN},
    "DateOrNull": {"type": ["string", "null"], "pattern": DATE_PATTERN},
    "StaffRef": obj({"userid": STR, "name": STR}),
    "CodeName": obj({"code": STR, "name": STR}),
    "CustomerRef": obj({"id": INT, "name": STR}),
    "Me": obj(
        {
            "userid": STR,
            "name": STR,
            "roles": array(STR),
            "department": NSTR,
            "order_counts": {"type": "object", "additionalProperties": INT},
        }
    ),
    "Session": obj({"token": STR, "expires_at": r("DateTime"), "user": r("Me")}),
    "Activity": obj(
        {
            "id": INT,
            "kind": STR,
            "body": STR,
            "actor": nullable(r("StaffRef")),
            "internal": BOOL,
            "created_at": r("DateTime"),
            "attachments": array(r("AttachmentRef")),
        }
    ),
    # A file on a timeline entry or a list: `url` downloads it (GET /attachments/{id}).
    "AttachmentRef": obj({"id": INT, "name": STR, "size": INT, "content_type": STR, "url": STR}),
    "ActivityPage": obj({"items": array(r("Activity")), "next_cursor": NSTR}),
    "OrderSummary": obj(
        {
            "number": STR,
            "title": STR,
            "status": {"type": "string", "enum": list(ORDER_STATUSES)},
            "status_zh": STR,
            "customer": r("CustomerRef"),
            "owner": r("StaffRef"),
            "amount": r("MoneyOrNull"),
            "currency": STR,
            "version": INT,
            "created_at": r("DateTime"),
            "updated_at": r("DateTime"),
        }
    ),
    "OrderPage": obj({"items": array(r("OrderSummary")), "next_cursor": NSTR}),
    "OrderLine": obj(
        {
            "position": INT,
            "service_item": NSTR,
            "description": STR,
            "quantity": STR,
            "unit": STR,
            "unit_price": r("MoneyOrNull"),
            "billing_method": STR,
            "amount": r("MoneyOrNull"),
        }
    ),
    "ApprovalState": obj(
        {
            "request_id": INT,
            "status": STR,
            "current_step": NSTR,
            "submitted_at": r("DateTime"),
            "decided_at": r("DateTimeOrNull"),
        }
    ),
    "ProjectBrief": obj(
        {
            "code": STR,
            "name": STR,
            "status": STR,
            "percent_done": INT,
            "next_milestone": NSTR,
            "hours": STR,
        }
    ),
    "MoneySummary": obj(
        {
            "total": r("Money"),
            "received": r("Money"),
            "outstanding": r("Money"),
            "overdue_amount": r("Money"),
            "overdue_count": INT,
            "next_due_date": r("DateOrNull"),
            "next_due_amount": r("MoneyOrNull"),
        }
    ),
    "Contact": obj({"id": INT, "name": STR, "title": NSTR, "phone": NSTR, "email": NSTR}),
    "ContractBrief": obj(
        {
            "id": INT,
            "number": STR,
            "title": STR,
            "status": STR,
            "signed_date": r("DateOrNull"),
            "amount": r("MoneyOrNull"),
        }
    ),
    "CustomerSummary": obj(
        {
            "id": INT,
            "name": STR,
            "short_name": NSTR,
            "industry": NSTR,
            "owner": nullable(r("StaffRef")),
            "credit_code": NSTR,
            "archived": BOOL,
        }
    ),
}

COMPONENTS["OrderDetail"] = obj(
    {
        **COMPONENTS["OrderSummary"]["properties"],
        "lines": array(r("OrderLine")),
        "custom_fields": {"type": "object"},
        "order_type": r("CodeName"),
        "business_line": nullable(r("CodeName")),
        "contract_number": NSTR,
        "status_reason": NSTR,
        "approval": nullable(r("ApprovalState")),
        "project": nullable(r("ProjectBrief")),
        "money": nullable(r("MoneySummary")),
        "timeline": r("ActivityPage"),
    }
)
