"""Chat texts about customers and contracts (`新客户`, `合同`)."""

from __future__ import annotations

from orderdesk.core.formatting import money
from orderdesk.models import Contract, Customer


def customer_created_text(customer: Customer) -> str:
    lines = [f"已新建客户 {customer.name}(编号 {customer.id})"]
    for contact in customer.contacts:
        phone = f" {contact.phone}" if contact.phone else ""
        lines.append(f"联系人:{contact.name}{phone}")
    if customer.credit_code:
        lines.append(f"统一社会信用代码:{customer.credit_code}")
    return "\n".join(lines)


def contracts_text(found: list[tuple[Contract, bool]], query: str) -> str:
    """The `合同` answer: one block per contract; amounts only where `show_money` is True."""
    if not found:
        return f"没有找到合同 {query}"
    blocks = []
    for contract, show_money in found:
        lines = [
            f"{contract.number} {contract.title or ''}".rstrip(),
            f"客户:{contract.customer.name}",
            f"状态:{CONTRACT_STATUS_ZH.get(contract.status, contract.status)}"
            + (f",签订于 {contract.signed_date:%Y-%m-%d}" if contract.signed_date else ""),
        ]
        if show_money:
            lines.append(f"金额:{money(contract.amount)}")
        orders = "、".join(o.number for o in contract.orders[:5])
        if orders:
            lines.append(f"订单:{orders}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


CONTRACT_STATUS_ZH = {"draft": "草稿", "signed": "已签订", "closed": "已关闭", "void": "已作废"}
