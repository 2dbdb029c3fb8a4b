"""Pure builders of the text, markdown and cards the bot answers with.

No database, no clock: handlers gather the facts (order, approval step, project summary, money
summary) and pass them in, together with the `View` that says what the reader may see.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from orderdesk.core.formatting import money
from orderdesk.models.order import ORDER_STATUS_ZH
from orderdesk.money.invoices import KIND_ZH
from orderdesk.wecom import cards

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from orderdesk.bot.redaction import View
    from orderdesk.bot.router import Command
    from orderdesk.models import Invoice, Order
    from orderdesk.money.collections import CustomerOverdue, MoneySummary
    from orderdesk.money.receipts import ReceiptResult
    from orderdesk.projects.service import ProjectSummary
    from orderdesk.settings import Settings

MONEY_HIDDEN = "仅相关人员可见"
TOP_COMMANDS = ("查 SO-2026-0001", "我的", "待审批", "逾期", "帮助")


def day(value: date | None) -> str:
    return value.isoformat() if value else "-"


def hhmm(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%H:%M")


@dataclass(frozen=True)
class OrderFacts:
    """Everything the order card shows, gathered by the handler from the services."""

    order: Order
    approval_step: str | None = None
    project: ProjectSummary | None = None
    money: MoneySummary | None = None  # None when the reader may not see money


def project_line(summary: ProjectSummary | None) -> str | None:
    if summary is None:
        return None
    parts = [f"任务完成 {summary.percent_done}%({summary.tasks_done}/{summary.tasks_total})"]
    if summary.next_milestone:
        due = f"({day(summary.next_milestone_due)})" if summary.next_milestone_due else ""
        parts.append(f"下个里程碑 {summary.next_milestone}{due}")
    return ",".join(parts)


def money_lines(summary: MoneySummary | None) -> list[tuple[str, str]]:
    if summary is None:
        return []
    rows = [("回款", f"{money(summary.received)} / {money(summary.total)}")]
    if summary.next_due_date is not None:
        rows.append(("下次应收", f"{day(summary.next_due_date)} {money(summary.next_due_amount)}"))
    if summary.overdue_amount:
        rows.append(("逾期", f"{money(summary.overdue_amount)}({summary.overdue_count} 笔)"))
    return rows


def order_rows(facts: OrderFacts, view: View) -> list[tuple[str, str]]:
    order = facts.order
    rows: list[tuple[str, str]] = [
        ("客户", order.customer.name),
        ("类型", order.order_type.name if order.order_type else "-"),
        ("金额", money(order.amount) if facts.money is not None else MONEY_HIDDEN),
        ("状态", order.status_zh),
    ]
    if facts.approval_step and view.shows_internal:
        rows.append(("审批", facts.approval_step))
    line = project_line(facts.project)
    if line:
        rows.append(("项目", line))
    rows.extend(money_lines(facts.money))
    rows.append(("负责人", order.owner.name))
    return rows


def order_card(
    settings: Settings, facts: OrderFacts, view: View, *, task_id: str
) -> dict[str, Any]:
    """The 1:1 answer to 查: a text_notice card that opens the order in the mini-app."""
    order = facts.order
    rows = order_rows(facts, view)
    return cards.text_notice(
        task_id=task_id,
        title=f"{order.number} {order.title}".strip(),
        desc=order.customer.name,
        sub_title="\n".join(f"{k}:{v}" for k, v in rows[4:]) or None,
        fields=rows[:4],
        action=cards.order_jump(settings, order.number),
    )


def order_markdown(facts: OrderFacts, view: View) -> str:
    """The group answer to 查 (bot replies in groups are markdown)."""
    order = facts.order
    lines = [f"**{order.number}** {order.title}".rstrip()]
    lines += [f"> {k}:{v}" for k, v in order_rows(facts, view)]
    return cards.truncate_bytes("\n".join(lines), cards.TEXT_MAX)


def order_list(orders: Sequence[Order], view: View, *, title: str) -> str:
    lines = [title]
    for order in orders:
        amount = f" {money(order.amount)}" if view.shows_money(order) else ""
        lines.append(f"· {order.number} {order.customer.name} {order.status_zh}{amount}")
    lines.append("发送「查 订单号」看详情")
    return cards.truncate_bytes("\n".join(lines), cards.TEXT_MAX)


def not_found(query: str, suggestions: Iterable[str]) -> str:
    found = [s for s in suggestions if s]
    text = f"没有找到「{query}」相关的订单"
    if found:
        text += "。你是不是要找:\n" + "\n".join(f"· {s}" for s in found[:5])
    return text


def counts_line(counts: dict[str, int]) -> str:
    parts = [f"{ORDER_STATUS_ZH.get(k, k)} {v}" for k, v in counts.items() if v]
    return " · ".join(parts) if parts else "暂无订单"


def help_text(commands: Iterable[Command]) -> str:
    lines = ["OrderDesk 命令(中文或英文均可):"]
    for cmd in commands:
        alias = f" / {cmd.aliases[0]}" if cmd.aliases else ""
        lines.append(f"· {cmd.name}{alias}:{cmd.summary}")
    lines.append("发送「帮助 命令」查看用法,例如:帮助 查")
    return "\n".join(lines)


def invoice_text(order_number: str, installment: str, inv: Invoice) -> str:
    """The answer to 开票: the invoice with the fields the buyer's finance will check."""

    lines = [
        f"已为 {order_number} {installment} 开具{KIND_ZH.get(inv.kind, inv.kind)} {inv.number}",
        f"· 价税合计 {money(inv.amount)}(税率 {inv.tax_rate:.0%})",
        f"· 不含税 {money(inv.amount_excl_tax)},税额 {money(inv.tax_amount)}",
        f"· 购买方 {inv.buyer_name}" + (f"({inv.buyer_tax_id})" if inv.buyer_tax_id else ""),
        f"· 开票日期 {day(inv.issue_date)}",
    ]
    return "\n".join(lines)


def reversal_text(result: ReceiptResult) -> str:
    """The answer to 撤销回款: which receipt, what each installment owes again, what is left."""
    r = result.receipt
    lines = [
        f"已撤销 {result.order.number} 回款 {r.number} {money(r.amount)},原因:{r.reverse_reason}"
    ]
    for installment, amount in result.allocations:
        lines.append(f"· {installment.name} 恢复应收 {money(amount)}")
    if r.credit_amount:
        lines.append(f"· 预收 {money(r.credit_amount)} 一并撤销")
    lines.append(f"已收 {money(result.summary.received)} / {money(result.summary.total)}")
    lines.append(f"剩余应收 {money(result.summary.outstanding)}")
    return "\n".join(lines)


def command_help(cmd: Command) -> str:
    alias = f"(英文:{', '.join(cmd.aliases)})" if cmd.aliases else ""
    return f"{cmd.name}{alias}:{cmd.summary}\n{cmd.usage_text()}"


def welcome_text(name: str | None) -> str:
    hello = f"{name},你好!" if name else "你好!"
    return f"{hello}我是 OrderDesk。常用命令:\n" + "\n".join(f"· {c}" for c in TOP_COMMANDS)


COMMON_REJECT_REASONS = (
    ("price", "价格或折扣不合理"),
    ("scope", "服务范围不清楚"),
    ("contract", "合同条款需修改"),
    ("customer", "客户资质待核实"),
    ("info", "资料不完整"),
)
REJECT_REASON_KEY = "reason"


def reject_reason_card(request_id: int, order_number: str, *, task_id: str) -> dict[str, Any]:
    """Asked after 驳回 on a card: pick a common reason, or reply with your own words."""
    return cards.multiple_interaction(
        task_id=task_id,
        title=f"驳回 {order_number}:请选择原因",
        desc=f"其他原因请回复:驳回 {order_number} 原因",
        selects=[
            cards.Select(
                question_key=REJECT_REASON_KEY,
                title="驳回原因",
                options=[cards.Option(id=k, text=t) for k, t in COMMON_REJECT_REASONS],
            )
        ],
        submit_text="确认驳回",
        submit_key=f"rejectwhy:{request_id}",
    )


def reason_text(option_id: str) -> str | None:
    return dict(COMMON_REJECT_REASONS).get(option_id)


def pending_line(number: str, customer: str, step: str | None, amount: str | None) -> str:
    parts = [number, customer]
    if amount:
        parts.append(amount)
    if step:
        parts.append(step)
    return "· " + " ".join(parts)


def overdue_text(groups: Sequence[CustomerOverdue], *, title: str = "逾期应收") -> str:
    if not groups:
        return "没有逾期的应收款"
    lines = [f"**{title}**"]
    grand = Decimal("0.00")
    for group in groups:
        grand += group.total
        lines.append(f"**{group.customer_name}** {money(group.total)}({group.count} 笔)")
        for item in group.items[:5]:
            lines.append(
                f"> {item.order_number} {item.installment_name} {day(item.due_date)} "
                f"{money(item.outstanding)} 逾期 {item.days_overdue} 天"
            )
        if len(group.items) > 5:
            lines.append(f"> …另有 {len(group.items) - 5} 笔")
    count = sum(g.count for g in groups)
    lines.append(f"合计 {money(grand)}({len(groups)} 个客户,{count} 笔)")
    return cards.truncate_bytes("\n".join(lines), cards.TEXT_MAX)


def receipt_text(result: ReceiptResult) -> str:
    """The answer to 回款: what was recorded, where it went, and what is still owed."""
    r = result.receipt
    lines = [
        f"已登记 {result.order.number} 回款 {money(r.amount)}({day(r.received_on)},{r.number})"
    ]
    for installment, amount in result.allocations:
        lines.append(f"· 核销 {installment.name} {money(amount)}")
    if result.credit:
        lines.append(f"· 多收 {money(result.credit)} 记为客户预收")
    summary = result.summary
    lines.append(f"已收 {money(summary.received)} / {money(summary.total)}")
    lines.append(f"剩余应收 {money(summary.outstanding)}")
    if summary.overdue_amount:
        lines.append(f"其中逾期 {money(summary.overdue_amount)}")
    return "\n".join(lines)
