"""Receipts (回款): record money received, allocate it to installments, reverse it.

Allocation is oldest-due first (then installments without a due date, by sequence) unless the
caller names installments. What cannot be allocated is the receipt's `credit_amount`: customer
credit (money.credit applies it later). Reversing restores every installment balance, including
those paid from its credit; the receipt, its allocations and credit applications stay for the
audit trail with `reversed_at` set, and reversed ones count for nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.core.errors import Conflict, NotFound, ValidationFailed
from orderdesk.core.formatting import money
from orderdesk.core.locks import lock_row
from orderdesk.core.parsing import read_decimal
from orderdesk.directory.permissions import require_role
from orderdesk.models import (
    ChatBinding,
    CreditApplication,
    Installment,
    Order,
    OutboxMessage,
    PaymentPlan,
    Receipt,
    ReceiptAllocation,
    Staff,
)
from orderdesk.money.collections import MoneySummary, money_summary, plan_of
from orderdesk.money.plans import lock_plan
from orderdesk.orders import timeline
from orderdesk.orders.service import get_order
from orderdesk.wecom import cards, outbox
from orderdesk.wecom.group_targets import push_target, pushable

ZERO = Decimal("0.00")
# A receipt of the same amount on the same contract within this many days may be a duplicate.
DUPLICATE_WINDOW_DAYS = 7


class PossibleDuplicate(Conflict):
    """The receipt looks like one already recorded: the caller must confirm it (409)."""

    code = "possible_duplicate"

    def __init__(self, message: str, *, twin_id: int, fields: dict[str, str] | None = None) -> None:
        super().__init__(message, fields=fields)
        self.twin_id = twin_id  # the receipt it looks like: a confirmation names it (below)


# Outbox key prefixes of per-installment reminders a payment makes pointless.
REMINDER_PREFIXES = ("due-soon:", "dun:", "client-remind:")


@dataclass(frozen=True)
class ReceiptResult:
    receipt: Receipt
    order: Order
    allocations: list[tuple[Installment, Decimal]]
    credit: Decimal
    summary: MoneySummary


def parse_amount(raw: Decimal | str | int, *, label: str = "金额") -> Decimal:
    """A positive amount in cents; floats are refused (they are not money)."""
    if isinstance(raw, float | bool):
        raise ValidationFailed(f"{label}必须是精确数字", fields={"amount": "float"})
    value, problem = read_decimal(raw.replace("¥", "") if isinstance(raw, str) else raw)
    if problem == "out_of_range":
        raise ValidationFailed(f"{label}过大", fields={"amount": "too_large"})
    if value is None:
        shown = str(raw)[:20]
        raise ValidationFailed(f"{label}不是有效数字:{shown}", fields={"amount": "invalid"})
    if value <= 0:
        raise ValidationFailed(f"{label}必须大于 0", fields={"amount": "positive"})
    if value != value.quantize(Decimal("0.01")):
        raise ValidationFailed(f"{label}最多两位小数", fields={"amount": "cents"})
    return value.quantize(Decimal("0.01"))


def installment_status(inst: Installment) -> str:
    if inst.paid_amount >= inst.amount and inst.amount > 0:
        return "paid"
    if inst.paid_amount > 0:
        return "partially_paid"
    return "due" if inst.due_date is not None else "planned"


def _allocation_order(insts: Sequence[Installment]) -> list[Installment]:
    return sorted(
        insts, key=lambda i: (i.due_date is None, i.due_date or date.max, i.sequence, i.id)
    )


def record_receipt(
    session: Session,
    *,
    actor: Staff,
    number: str,
    amount: Decimal | str,
    received_on: date | None = None,
    note: str | None = None,
    installment_ids: Sequence[int] | None = None,
    method: str = "bank",
    confirm_duplicate: bool = False,
    receipt_number: str | None = None,
    announce: bool = True,
    confirms_twin: int | None = None,
) -> ReceiptResult:
    """Record money received for an order (finance only) and allocate it. A receipt that looks
    like a duplicate (see `_refuse_duplicate`) needs `confirm_duplicate`. `receipt_number`: the
    bank's 回款流水号 (imports; default a generated one); `announce=False` leaves the project group
    alone (historical receipts brought in by an import are not news). `confirms_twin`: the
    id of the receipt the confirmation was asked about (a chat card's button): the confirmation
    is spent once a receipt of that amount was recorded after it, so a second click adds none."""
    require_role(actor, "finance")
    value = parse_amount(amount)
    today = clock.today(clock.company_tz(session))
    received_on = received_on or today
    if received_on > today:
        raise ValidationFailed("收款日期不能晚于今天", fields={"received_on": "future"})
    order = get_order(session, actor=actor, number=number)
    plan = plan_of(session, order)
    if plan is None:
        raise ValidationFailed(f"订单 {order.number} 还没有付款计划,无法登记回款")
    insts = lock_plan(session, plan)  # balances below are read under the lock, then written
    if not confirm_duplicate:
        # Under the plan lock: of two identical receipts racing, the second sees the first.
        _refuse_duplicate(session, order, plan.contract_id, value, received_on)
    elif confirms_twin is not None:
        _refuse_spent_confirmation(session, plan.contract_id, value, confirms_twin)
    open_insts = [i for i in insts if i.status != "cancelled" and i.outstanding > 0]
    if installment_ids:
        by_id = {i.id: i for i in insts}
        unknown = [i for i in installment_ids if i not in by_id]
        if unknown:
            raise ValidationFailed(f"分期 {unknown} 不属于订单 {order.number}")
        targets = [
            by_id[i]
            for i in installment_ids
            if by_id[i].status != "cancelled" and by_id[i].outstanding > 0
        ]
    else:
        targets = _allocation_order(open_insts)
    receipt = Receipt(
        number=receipt_number or f"RC{received_on:%Y%m%d}-{secrets.token_hex(3).upper()}",
        customer_id=order.customer_id,
        contract_id=plan.contract_id,
        amount=value,
        received_on=received_on,
        method=method[:16],
        note=(note or "").strip()[:500] or None,
        recorded_by_id=actor.id,
    )
    session.add(receipt)
    left = value
    allocations: list[tuple[Installment, Decimal]] = []
    now = clock.now()
    for inst in targets:
        if left <= 0:
            break
        part = min(left, inst.outstanding)
        receipt.allocations.append(ReceiptAllocation(installment=inst, amount=part))
        inst.paid_amount += part
        inst.status = installment_status(inst)
        if inst.status == "paid":
            inst.paid_at = now
        allocations.append((inst, part))
        left -= part
    receipt.credit_amount = left
    session.flush()
    settled = [i for i, _ in allocations if i.status == "paid"]
    cancel_reminders(session, [i.id for i in settled])
    parts = "、".join(f"{i.name} {money(p)}" for i, p in allocations) or "无"
    credit_note = f",余 {money(left)} 转为客户预收" if left > 0 else ""
    timeline.record(
        session,
        kind="payment",
        actor=actor,
        body=f"登记回款 {money(value)}({received_on.isoformat()}):{parts}{credit_note}",
        plain=f"登记回款({received_on.isoformat()})",
        order=order,
        data={
            "receipt": receipt.number,
            "amount": str(value),
            "credit": str(left),
            "allocations": {str(i.id): str(p) for i, p in allocations},
        },
    )
    summary = money_summary(session, order, today=today)
    if announce:
        _post_to_project_group(session, order, receipt, settled)
    return ReceiptResult(receipt, order, allocations, left, summary)


def _refuse_duplicate(
    session: Session, order: Order, contract_id: int, value: Decimal, received_on: date
) -> None:
    """A live receipt of the same amount on the same contract received within 7 days of this
    one is most likely the same money entered twice (two finance clerks, a retried form)."""
    window = timedelta(days=DUPLICATE_WINDOW_DAYS)
    twin = session.scalar(
        select(Receipt)
        .where(
            Receipt.contract_id == contract_id,
            Receipt.amount == value,
            Receipt.reversed_at.is_(None),
            Receipt.received_on >= received_on - window,
            Receipt.received_on <= received_on + window,
        )
        .order_by(Receipt.id.desc())
        .limit(1)
    )
    if twin is not None:
        raise PossibleDuplicate(
            f"可能重复,确认登记?订单 {order.number} 已于 {twin.received_on.isoformat()} 登记过"
            f"同额回款 {money(value)}({twin.number})",
            fields={"amount": "possible_duplicate"},
            twin_id=twin.id,
        )


def _refuse_spent_confirmation(
    session: Session, contract_id: int, value: Decimal, twin_id: int
) -> None:
    later = session.scalar(
        select(Receipt).where(
            Receipt.contract_id == contract_id,
            Receipt.amount == value,
            Receipt.reversed_at.is_(None),
            Receipt.id > twin_id,
        )
    )
    if later is not None:
        raise Conflict(f"已确认登记过这笔回款({later.number}),不会重复登记")


def reverse_receipt(
    session: Session, *, actor: Staff, receipt_number: str, reason: str
) -> ReceiptResult:
    """Undo a receipt (finance only, with a reason): every balance it touched is restored."""
    require_role(actor, "finance")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("冲销回款必须填写原因", fields={"reason": "required"})
    receipt = _lock_receipt(session, receipt_number)
    if receipt.reversed_at is not None:
        raise Conflict(f"回款 {receipt.number} 已于 {receipt.reversed_at:%Y-%m-%d} 冲销")
    restored: list[tuple[Installment, Decimal]] = []
    for alloc in receipt.allocations:
        restored.append(_unpay(alloc.installment, alloc.amount))
    now = clock.now()
    for app in _live_applications(session, receipt.id):
        app.reversed_at = now
        restored.append(_unpay(app.installment, app.amount))
    receipt.reversed_at = now
    receipt.reverse_reason = reason[:500]
    # The receipt's own order (applied credit may have paid another order of the customer).
    order = receipt.allocations[0].installment.plan.order if receipt.allocations else None
    if order is None:
        order = session.scalar(
            select(Order).where(Order.contract_id == receipt.contract_id).order_by(Order.id)
        )
    if order is None:
        raise NotFound(f"回款 {receipt.number} 没有关联订单")
    session.flush()
    timeline.record(
        session,
        kind="payment",
        actor=actor,
        body=f"冲销回款 {receipt.number} {money(receipt.amount)},原因:{reason}",
        plain=f"冲销回款 {receipt.number},原因:{reason}",
        order=order,
        data={"receipt": receipt.number, "reversed": True, "reason": reason},
    )
    summary = money_summary(session, order)
    return ReceiptResult(receipt, order, restored, -receipt.credit_amount, summary)


def _unpay(inst: Installment, amount: Decimal) -> tuple[Installment, Decimal]:
    inst.paid_amount -= amount
    inst.status = installment_status(inst)
    if inst.status != "paid":
        inst.paid_at = None
    return inst, amount


def _live_applications(session: Session, receipt_id: int) -> list[CreditApplication]:
    return list(
        session.scalars(
            select(CreditApplication)
            .where(
                CreditApplication.receipt_id == receipt_id,
                CreditApplication.reversed_at.is_(None),
            )
            .order_by(CreditApplication.id)
        )
    )


def _touched_plans(session: Session, receipt: Receipt) -> set[int]:
    """Plans the receipt paid into: by allocation, and through its applied credit."""
    applied = {a.installment.plan_id for a in _live_applications(session, receipt.id)}
    return {a.installment.plan_id for a in receipt.allocations} | applied


def _lock_receipt(session: Session, receipt_number: str) -> Receipt:
    """The receipt, locked after the plans it paid into (the fixed lock order), so a reversal
    and a receipt, a credit application or a second reversal on those plans run one after the
    other."""
    found = session.scalar(select(Receipt).where(Receipt.number == receipt_number.strip()))
    if found is None:
        raise NotFound(f"找不到回款记录 {receipt_number}")
    plan_ids = _touched_plans(session, found)
    for plan_id in sorted(plan_ids):
        plan = session.get(PaymentPlan, plan_id)
        if plan is not None:
            lock_plan(session, plan)
    receipt = lock_row(session, Receipt, found.id)
    if receipt is None:
        raise NotFound(f"找不到回款记录 {receipt_number}")
    if receipt.reversed_at is None and not _touched_plans(session, receipt) <= plan_ids:
        # Its credit was applied to another plan between our read and our lock: locking that
        # plan now would break the lock order, so the caller retries.
        raise Conflict(f"回款 {receipt.number} 的预收刚被使用,请重试")
    return receipt


def customer_credit(session: Session, customer_id: int) -> Decimal:
    """Unallocated money of non-reversed receipts (what the customer has paid in advance),
    less what has been applied to installments since."""
    total = session.scalar(
        select(func.coalesce(func.sum(Receipt.credit_amount), 0)).where(
            Receipt.customer_id == customer_id, Receipt.reversed_at.is_(None)
        )
    )
    applied = session.scalar(
        select(func.coalesce(func.sum(CreditApplication.amount), 0))
        .join(Receipt, Receipt.id == CreditApplication.receipt_id)
        .where(Receipt.customer_id == customer_id, CreditApplication.reversed_at.is_(None))
    )
    return (Decimal(str(total)) - Decimal(str(applied))).quantize(Decimal("0.01"))


def cancel_reminders(session: Session, installment_ids: Sequence[int]) -> int:
    """Pending reminder messages for paid installments are never delivered."""
    if not installment_ids:
        return 0
    conds = [
        OutboxMessage.idempotency_key.like(f"{prefix}{iid}:%")
        for iid in installment_ids
        for prefix in REMINDER_PREFIXES
    ]
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == "pending", or_(*conds))
        .values(status="dead", last_error="已收款,提醒取消")
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def project_groups(session: Session, order: Order) -> list[ChatBinding]:
    """Internal groups bound to the order's project (or the order itself) that we can push to."""
    conds = [ChatBinding.order_id == order.id]
    if order.project is not None:
        conds.append(ChatBinding.project_id == order.project.id)
    return list(
        session.scalars(
            select(ChatBinding)
            .where(
                or_(*conds),
                ChatBinding.active.is_(True),
                ChatBinding.audience == "internal",
                pushable(),
            )
            .order_by(ChatBinding.id)
        )
    )


def group_message(binding: ChatBinding, *, key: str, text: str, order_id: int | None) -> dict:
    """(channel, recipient, payload) for a push into a bound internal group: its appchat, its
    webhook, or the robot a bot group registered (`wecom.group_targets`)."""
    channel, recipient = push_target(binding) or (binding.kind, binding.chat_id)
    if channel == "webhook":
        return {
            "key": key,
            "channel": "webhook",
            "recipient": recipient,
            "payload": cards.webhook_markdown(text),
            "order_id": order_id,
        }
    return {
        "key": key,
        "channel": "appchat",
        "recipient": recipient,
        "payload": cards.app_markdown(text),
        "order_id": order_id,
    }


def _post_to_project_group(
    session: Session, order: Order, receipt: Receipt, paid: Sequence[Installment]
) -> None:
    """Tell the project group that money came in, without any figure: the group is read by PMs
    and delivery staff, who may not see the order's money (they open OrderDesk, which shows
    each reader what they may see)."""
    settled = "、".join(i.name for i in paid)
    text = f"💰 订单 {order.number} 收到一笔回款({receipt.received_on:%m-%d})" + (
        f",{settled}已结清" if settled else ""
    )
    for binding in project_groups(session, order):
        msg = group_message(
            binding, key=f"receipt-note:{receipt.number}:{binding.id}", text=text, order_id=order.id
        )
        outbox.add(session, **msg)
