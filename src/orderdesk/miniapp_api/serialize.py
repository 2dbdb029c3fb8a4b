"""Model -> JSON: amounts as decimal strings, times ISO 8601 with the company's offset."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from orderdesk.directory.permissions import can_see_money
from orderdesk.models import Activity, Attachment, Contact, Contract, Customer, Order, Staff
from orderdesk.orders import timeline

ZERO = Decimal("0.00")


def money(value: Decimal | None) -> str | None:
    return None if value is None else f"{Decimal(value).quantize(Decimal('0.01')):f}"


def when(value: datetime | None, tz: ZoneInfo) -> str | None:
    return None if value is None else value.astimezone(tz).isoformat()


def day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def staff_ref(staff: Staff | None) -> dict[str, Any] | None:
    return None if staff is None else {"userid": staff.userid, "name": staff.name}


def me(staff: Staff, order_counts: dict[str, int]) -> dict[str, Any]:
    return {
        "userid": staff.userid,
        "name": staff.name,
        "roles": sorted(staff.roles),
        "department": staff.department.name if staff.department else None,
        "order_counts": order_counts,
    }


def order_summary(order: Order, actor: Staff, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "number": order.number,
        "title": order.title,
        "status": order.status,
        "status_zh": order.status_zh,
        "customer": {"id": order.customer.id, "name": order.customer.name},
        "owner": staff_ref(order.owner),
        "amount": money(order.amount) if can_see_money(actor, order) else None,
        "currency": order.currency,
        "version": order.version,
        "created_at": when(order.created_at, tz),
        "updated_at": when(order.updated_at, tz),
    }


def order_lines(order: Order, *, show_money: bool) -> list[dict[str, Any]]:
    return [
        {
            "position": line.position,
            "service_item": line.service_item.code if line.service_item else None,
            "description": line.description,
            "quantity": f"{line.quantity:f}",
            "unit": line.unit,
            "unit_price": money(line.unit_price) if show_money else None,
            "billing_method": line.billing_method,
            "amount": money(line.amount) if show_money else None,
        }
        for line in order.lines
    ]


def activity(item: Activity, tz: ZoneInfo, reader: Staff) -> dict[str, Any]:
    return {
        "id": item.id,
        "kind": item.kind,
        "body": timeline.body_for_reader(item, reader),
        "actor": staff_ref(item.actor),
        "internal": item.internal,
        "created_at": when(item.created_at, tz),
        "attachments": [attachment_ref(a) for a in item.attachments],
    }


def attachment_ref(item: Attachment) -> dict[str, Any]:
    return {
        "id": item.id,
        "name": item.name,
        "size": item.size,
        "content_type": item.content_type,
        "url": f"/api/v1/attachments/{item.id}",
    }


def customer_summary(customer: Customer) -> dict[str, Any]:
    return {
        "id": customer.id,
        "name": customer.name,
        "short_name": customer.short_name,
        "industry": customer.industry,
        "owner": staff_ref(customer.owner),
        "credit_code": customer.credit_code,
        "archived": customer.archived_at is not None,
    }


def contact(item: Contact) -> dict[str, Any]:
    return {
        "id": item.id,
        "name": item.name,
        "title": item.title,
        "phone": item.phone,
        "email": item.email,
    }


def contract_brief(item: Contract, *, show_money: bool) -> dict[str, Any]:
    return {
        "id": item.id,
        "number": item.number,
        "title": item.title,
        "status": item.status,
        "signed_date": day(item.signed_date),
        "amount": money(item.amount) if show_money else None,
    }


def money_summary(summary: Any) -> dict[str, Any]:
    """money.collections.MoneySummary -> JSON (duck-typed on the contract's field names)."""
    return {
        "total": money(summary.total),
        "received": money(summary.received),
        "outstanding": money(summary.outstanding),
        "overdue_amount": money(summary.overdue_amount),
        "overdue_count": int(summary.overdue_count),
        "next_due_date": day(summary.next_due_date),
        "next_due_amount": money(summary.next_due_amount),
    }


def custom_field_values(order: Order) -> dict[str, Any]:
    """Stored values with number fields as JSON numbers ("120" -> 120, "2.5" -> 2.5). Money
    stays a decimal string like every amount; other types are stored as they are shown."""
    types = {f.get("key"): f.get("type") for f in (order.order_type.field_schema or [])}
    shown: dict[str, Any] = {}
    for key, value in (order.custom_fields or {}).items():
        if types.get(key) == "number" and isinstance(value, str):
            try:
                number = Decimal(value)
            except ArithmeticError:
                shown[key] = value  # stored before validation existed: leave it alone
                continue
            shown[key] = int(number) if number == number.to_integral_value() else float(number)
        else:
            shown[key] = value
    return shown


def named_ref(item: Any) -> dict[str, Any] | None:
    """{code, name} of an order type or business line."""
    return None if item is None else {"code": item.code, "name": item.name}
