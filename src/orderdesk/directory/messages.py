"""Chat texts about customers (the `新客户` reply)."""

from __future__ import annotations

from orderdesk.models import Customer


def customer_created_text(customer: Customer) -> str:
    lines = [f"已新建客户 {customer.name}(编号 {customer.id})"]
    for contact in customer.contacts:
        phone = f" {contact.phone}" if contact.phone else ""
        lines.append(f"联系人:{contact.name}{phone}")
    if customer.credit_code:
        lines.append(f"统一社会信用代码:{customer.credit_code}")
    return "\n".join(lines)
