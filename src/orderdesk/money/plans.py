"""Payment plans: contract terms -> installments that always sum exactly to the contract.

Terms (Contract.payment_terms) are a list of dicts, one per installment::

    {"name": "首付款", "percent": "30", "trigger": "on_signing", "days": 7}
    {"name": "预付款", "amount": "10000.00", "trigger": "on_date", "date": "2026-12-01"}
    {"name": "上线款", "percent": "40", "trigger": "after_event", "event": "delivered", "days": 10}
    {"name": "验收款", "percent": "30", "trigger": "on_milestone", "milestone": "验收", "days": 15}

Rules (decided here, documented for the other areas):
- An installment is either a percent or a fixed `amount`, never both; nothing negative.
- Fixed amounts are taken first; percents apply to what remains (contract - fixed). When there
  is any percent term, the percents must sum to exactly 100. A fixed-only plan must sum to the
  contract. Fixed amounts may never exceed the contract.
- Each percent amount is rounded half-up to cents; the rounding remainder goes to the last
  percent installment, so the plan always sums to the contract to the cent.
- `after_event` events are order statuses (e.g. "delivered", "accepted"; see
  orders.states.apply_status, which calls `on_event`) or "signing".
- Regeneration (contract amount or terms changed): installments already touched by money
  (paid or invoiced) are kept as they are; the rest of the contract is re-planned over the new
  terms that are not kept, in proportion to their new amounts. A contract may not drop below
  what is already kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.core.errors import ValidationFailed
from orderdesk.core.locks import lock_row, lock_rows
from orderdesk.core.parsing import DAY_RULE_ZH, parse_day, parse_decimal
from orderdesk.models import Contract, Installment, Milestone, Order, PaymentPlan, Project
from orderdesk.models.money import TRIGGERS
from orderdesk.orders import timeline

CENT = Decimal("0.01")
HUNDRED = Decimal("100")
TRIGGER_ZH = {
    "on_signing": "签约后",
    "on_date": "指定日期",
    "after_event": "事件后",
    "on_milestone": "里程碑验收后",
}

# Other spellings a term's trigger may come in (the API's older "on_event", the Chinese names
# of the H5 form and chat): one meaning each.
TRIGGER_ALIASES = {
    "on_event": "after_event",
    "signing": "on_signing",
    "date": "on_date",
    "milestone": "on_milestone",
    **{zh: code for code, zh in TRIGGER_ZH.items()},
}


def cents(value: Decimal) -> Decimal:
    """Round half-up to cents (the company's rounding rule for money)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Term:
    """One validated installment term."""

    sequence: int
    name: str
    trigger: str
    days: int
    percent: Decimal | None
    fixed: Decimal | None
    on_date: date | None
    event: str | None
    milestone: str | None


def _decimal(raw: Any, label: str) -> Decimal:
    if isinstance(raw, float):
        raise ValidationFailed(f"{label}必须写成字符串或整数,不能是浮点数", fields={"terms": label})
    value = parse_decimal(str(raw).strip().rstrip("%"))
    if value is None:
        shown = str(raw)[:20]
        raise ValidationFailed(f"{label}不是有效数字:{shown}", fields={"terms": label})
    if value < 0:
        raise ValidationFailed(f"{label}不能为负数", fields={"terms": label})
    return value


def parse_terms(raw_terms: list[dict[str, Any]] | None) -> list[Term]:
    """Validate the shape of each term (amount checks against the contract are separate)."""
    if not raw_terms:
        raise ValidationFailed("合同没有付款条款", fields={"payment_terms": "required"})
    terms: list[Term] = []
    for i, raw in enumerate(raw_terms, start=1):
        label = f"第 {i} 期"
        if not isinstance(raw, dict):
            raise ValidationFailed(f"{label}格式不正确", fields={"payment_terms": label})
        name = str(raw.get("name") or f"第{i}期款")[:64]
        trigger = str(raw.get("trigger") or "on_signing").strip()
        trigger = TRIGGER_ALIASES.get(trigger, trigger)
        if trigger not in TRIGGERS:
            raise ValidationFailed(
                f"{label}触发方式未知:{trigger}", fields={"payment_terms": label}
            )
        has_pct, has_amt = raw.get("percent") is not None, raw.get("amount") is not None
        if has_pct == has_amt:
            raise ValidationFailed(
                f"{label}必须且只能填写比例或固定金额之一", fields={"payment_terms": label}
            )
        percent = _decimal(raw["percent"], f"{label}比例") if has_pct else None
        fixed = _decimal(raw["amount"], f"{label}金额") if has_amt else None
        if percent is not None and (
            percent > HUNDRED or percent != percent.quantize(Decimal("0.0001"))
        ):
            raise ValidationFailed(f"{label}比例须在 0-100 之间且最多 4 位小数")
        if fixed is not None and fixed != cents(fixed):
            raise ValidationFailed(f"{label}金额最多两位小数")
        try:
            days = int(raw.get("days") or 0)
        except (TypeError, ValueError) as exc:
            raise ValidationFailed(f"{label}天数必须是整数") from exc
        if days < 0:
            raise ValidationFailed(f"{label}天数不能为负数")
        on_date = None
        if trigger == "on_date":
            on_date = parse_day(raw.get("date"))
            if on_date is None:
                raise ValidationFailed(f"{label}需要日期({DAY_RULE_ZH})")
        event = str(raw["event"])[:32] if trigger == "after_event" and raw.get("event") else None
        if trigger == "after_event" and not event:
            raise ValidationFailed(f"{label}需要指定触发事件")
        milestone = str(raw.get("milestone") or "")[:32] or None
        if trigger == "on_milestone" and not milestone:
            raise ValidationFailed(f"{label}需要指定里程碑名称")
        terms.append(Term(i, name, trigger, days, percent, fixed, on_date, event, milestone))
    return terms


def compute_amounts(total: Decimal, terms: list[Term]) -> list[Decimal]:
    """The amount of each term; validated so the result sums exactly to `total`."""
    if total < 0:
        raise ValidationFailed("合同金额不能为负数")
    fixed_sum = sum((t.fixed for t in terms if t.fixed is not None), Decimal("0"))
    if fixed_sum > total:
        raise ValidationFailed(f"固定金额合计 {fixed_sum} 超过合同金额 {total}")
    pct_terms = [t for t in terms if t.percent is not None]
    pct_sum = sum((t.percent for t in pct_terms if t.percent is not None), Decimal("0"))
    if not pct_terms:
        if fixed_sum != total:
            raise ValidationFailed(f"各期固定金额合计 {fixed_sum} 不等于合同金额 {total}")
        return [t.fixed or Decimal("0.00") for t in terms]
    if pct_sum != HUNDRED:
        raise ValidationFailed(f"各期比例合计为 {pct_sum.normalize():f}%,应为 100%")
    rest = total - fixed_sum
    amounts = [
        t.fixed if t.fixed is not None else cents(rest * (t.percent or Decimal(0)) / HUNDRED)
        for t in terms
    ]
    last_pct = max(i for i, t in enumerate(terms) if t.percent is not None)
    amounts[last_pct] += total - sum(amounts, Decimal("0"))
    return [cents(a) for a in amounts]


def spread(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """Split `total` in proportion to `weights` (half-up cents, remainder to the last)."""
    weight_sum = sum(weights, Decimal("0"))
    if not weights:
        return []
    if weight_sum == 0:
        out = [Decimal("0.00")] * len(weights)
        out[-1] = cents(total)
        return out
    out = [cents(total * w / weight_sum) for w in weights]
    out[-1] += cents(total) - sum(out, Decimal("0"))
    return out


def _due_date(term: Term, contract: Contract) -> date | None:
    if term.trigger == "on_date":
        return term.on_date
    if term.trigger == "on_signing" and contract.signed_date is not None:
        return contract.signed_date + timedelta(days=term.days)
    return None


def _apply_term(inst: Installment, term: Term, amount: Decimal, contract: Contract) -> None:
    inst.sequence = term.sequence
    inst.name = term.name
    inst.trigger = term.trigger
    inst.trigger_days = term.days
    inst.trigger_event = term.event if term.trigger == "after_event" else term.milestone
    inst.percent = term.percent
    inst.fixed_amount = term.fixed
    inst.amount = amount
    inst.due_date = _due_date(term, contract)
    inst.status = "due" if inst.due_date is not None else "planned"


def _locked(inst: Installment) -> bool:
    """Touched by money: paid, invoiced, or referenced by (even reversed/voided) records."""
    if inst.id is None:
        return False
    return bool(
        inst.paid_amount > 0 or inst.invoiced_amount > 0 or inst.allocations or inst.invoices
    )


def _same_shape(inst: Installment, term: Term, amount: Decimal) -> bool:
    event = term.event if term.trigger == "after_event" else term.milestone
    return (
        inst.sequence == term.sequence
        and inst.name == term.name
        and inst.trigger == term.trigger
        and inst.trigger_days == term.days
        and inst.trigger_event == event
        and inst.amount == amount
        and (inst.percent is None) == (term.percent is None)
        and (term.trigger != "on_date" or inst.due_date == term.on_date)
    )


def lock_plan(session: Session, plan: PaymentPlan) -> list[Installment]:
    """Lock the plan and all its installments (see core.locks for the order) and return the
    installments fresh from the database, by sequence: every balance change goes through here."""
    lock_row(session, PaymentPlan, plan.id)
    ids = session.scalars(select(Installment.id).where(Installment.plan_id == plan.id))
    insts = lock_rows(session, Installment, list(ids))
    session.expire(plan, ["installments"])  # membership may have changed before the lock
    return sorted(insts, key=_seq)


def generate_plan(
    session: Session, *, contract: Contract, order: Order | None = None
) -> PaymentPlan:
    """Create the contract's plan, or bring it in line with changed terms/amount (idempotent)."""
    terms = parse_terms(contract.payment_terms)
    total = cents(contract.amount)
    amounts = compute_amounts(total, terms)
    plan = session.scalar(select(PaymentPlan).where(PaymentPlan.contract_id == contract.id))
    if plan is None:
        plan = PaymentPlan(contract=contract, order=order, total=total)
        session.add(plan)
        for term, amount in zip(terms, amounts, strict=True):
            inst = Installment(paid_amount=Decimal("0.00"), invoiced_amount=Decimal("0.00"))
            _apply_term(inst, term, amount, contract)
            plan.installments.append(inst)
        session.flush()
        _record(session, plan, contract, order, "生成付款计划", total)
        return plan
    if order is not None and plan.order_id is None:
        plan.order = order
    current = lock_plan(session, plan)
    unchanged = plan.total == total and len(current) == len(terms)
    if unchanged and all(
        _same_shape(i, t, a) for i, t, a in zip(current, terms, amounts, strict=True)
    ):
        _refresh_due_dates(current, terms, contract)
        return plan
    _regenerate(session, plan, contract, terms, amounts, total)
    _record(session, plan, contract, plan.order, "合同变更,重新生成未付部分", total)
    return plan


def _refresh_due_dates(current: list[Installment], terms: list[Term], contract: Contract) -> None:
    for inst, term in zip(current, terms, strict=True):
        if inst.due_date is None:
            due = _due_date(term, contract)
            if due is not None:
                inst.due_date = due
                if inst.status == "planned":
                    inst.status = "due"


def _regenerate(
    session: Session,
    plan: PaymentPlan,
    contract: Contract,
    terms: list[Term],
    amounts: list[Decimal],
    total: Decimal,
) -> None:
    kept = [i for i in plan.installments if _locked(i)]
    kept_seq = {i.sequence for i in kept}
    kept_sum = sum((i.amount for i in kept), Decimal("0"))
    if kept_sum > total:
        raise ValidationFailed(
            f"合同金额 {total} 低于已收款/已开票的分期合计 {kept_sum},不能这样修改"
        )
    free = [(t, a) for t, a in zip(terms, amounts, strict=True) if t.sequence not in kept_seq]
    for inst in [i for i in plan.installments if not _locked(i)]:
        plan.installments.remove(inst)
    session.flush()  # free the (plan, sequence) slots before re-adding
    rest = total - kept_sum
    if free:
        new_amounts = spread(rest, [a for _, a in free])
        for (term, _), amount in zip(free, new_amounts, strict=True):
            inst = Installment(paid_amount=Decimal("0.00"), invoiced_amount=Decimal("0.00"))
            _apply_term(inst, term, amount, contract)
            plan.installments.append(inst)
    elif rest > 0:
        seq = max(kept_seq) + 1
        extra = Term(seq, "合同变更调整", "on_signing", 0, None, rest, None, None, None)
        inst = Installment(paid_amount=Decimal("0.00"), invoiced_amount=Decimal("0.00"))
        _apply_term(inst, extra, rest, contract)
        inst.due_date = contract.signed_date
        inst.status = "due" if inst.due_date else "planned"
        plan.installments.append(inst)
    plan.total = total
    session.flush()


def _record(
    session: Session,
    plan: PaymentPlan,
    contract: Contract,
    order: Order | None,
    what: str,
    total: Decimal,
) -> None:
    lines = "; ".join(f"{i.name} {i.amount}" for i in sorted(plan.installments, key=_seq))
    timeline.record(
        session,
        kind="payment",
        actor=None,
        body=f"{what}:合同 {contract.number} 共 {total} 元({lines})",
        plain=f"{what}:合同 {contract.number} 共 {len(plan.installments)} 期",
        order=order,
        customer_id=contract.customer_id,
        data={"contract": contract.number, "plan_id": plan.id, "total": str(total)},
    )


def _seq(inst: Installment) -> int:
    return inst.sequence


def _plans_for_order(session: Session, order: Order) -> list[PaymentPlan]:
    conds = [PaymentPlan.order_id == order.id]
    if order.contract_id is not None:
        conds.append(PaymentPlan.contract_id == order.contract_id)
    return list(session.scalars(select(PaymentPlan).where(or_(*conds))))


def on_milestone_accepted(
    session: Session, milestone: Milestone, *, tz: ZoneInfo | None = None
) -> list[Installment]:
    """Installments waiting for this milestone become due: acceptance date (company tz) + days."""
    project = milestone.project or session.get(Project, milestone.project_id)
    if project is None:
        return []
    order = project.order
    accepted_at: datetime = milestone.accepted_at or clock.now()
    accepted_on = accepted_at.astimezone(tz or clock.company_tz(session)).date()
    changed: list[Installment] = []
    for plan in _plans_for_order(session, order):
        for inst in plan.installments:
            if inst.trigger != "on_milestone" or inst.status in ("paid", "cancelled"):
                continue
            linked = inst.milestone_id == milestone.id
            by_name = inst.milestone_id is None and inst.trigger_event == milestone.name
            if not (linked or by_name) or inst.due_date is not None:
                continue
            inst.milestone_id = milestone.id
            inst.due_date = accepted_on + timedelta(days=inst.trigger_days)
            if inst.status == "planned":
                inst.status = "due"
            changed.append(inst)
            timeline.record(
                session,
                kind="payment",
                actor=None,
                body=f"里程碑「{milestone.name}」已验收,{inst.name} {inst.amount} 元应于 "
                f"{inst.due_date.isoformat()} 前收款",
                plain=f"里程碑「{milestone.name}」已验收,{inst.name}应于 "
                f"{inst.due_date.isoformat()} 前收款",
                order=order,
                data={"installment_id": inst.id, "due_date": inst.due_date.isoformat()},
            )
    if changed:
        from orderdesk.money.invoices import notify_invoice_due  # invoices imports plans

        notify_invoice_due(session, changed)
    return changed


def on_event(session: Session, *, order: Order, event: str, on_date: date) -> list[Installment]:
    """An order event (e.g. "signing", "delivered", "accepted") happened on `on_date`."""
    changed: list[Installment] = []
    for plan in _plans_for_order(session, order):
        for inst in plan.installments:
            if inst.due_date is not None or inst.status in ("paid", "cancelled"):
                continue
            hit = (inst.trigger == "after_event" and inst.trigger_event == event) or (
                inst.trigger == "on_signing" and event == "signing"
            )
            if hit:
                inst.due_date = on_date + timedelta(days=inst.trigger_days)
                inst.status = "due" if inst.status == "planned" else inst.status
                changed.append(inst)
    if changed:
        timeline.record(
            session,
            kind="payment",
            actor=None,
            body=f"{event} 于 {on_date.isoformat()} 发生,{len(changed)} 期款项进入应收",
            order=order,
        )
    return changed
