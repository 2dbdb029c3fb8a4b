"""WeCom texts and cards of the money domain (built here, sent through the outbox)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from orderdesk.core.formatting import money
from orderdesk.models import Installment
from orderdesk.wecom import cards


def invoice_due_card(
    inst: Installment,
    *,
    order_number: str,
    buyer_name: str,
    buyer_tax_id: str | None,
    amount: Decimal,
    tax_rate: Decimal,
) -> dict[str, Any]:
    """To finance: invoice this installment now (先票后款), with what the invoice needs."""
    card = cards.text_notice(
        task_id=f"invdue-{inst.id}",
        title=f"待开票:{order_number} {inst.name}",
        desc=f"合同约定先票后款,请开票。命令:开票 {order_number} {inst.name}",
        fields=[
            ("购买方", buyer_name),
            ("税号", buyer_tax_id or "未登记(专票必填)"),
            ("税率", f"{tax_rate:.0%}"),
            ("到期日", inst.due_date.isoformat() if inst.due_date else "—"),
        ],
        emphasis=(money(amount), "待开票金额"),
    )
    return cards.app_template_card(card)
