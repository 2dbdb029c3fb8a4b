"""Installments (by 订单编号 + 期次) and receipts (by 回款流水号).

An installments sheet is the payment plan of each order's contract: its rows become the
contract's terms (fixed amounts, due dates) and `plans.generate_plan` brings the plan in line,
keeping what money already touched. Amounts already paid come in as historical receipts
through `money.receipts.record_receipt` (allocated to that installment, not announced), so
`orderdesk check` holds after any import. Receipts keep their bank number; one already here
with another amount or date is refused (reverse it in the system first), never rewritten.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from orderdesk.core import clock
from orderdesk.imports.columns import AMOUNT, DATE, Column, read_int
from orderdesk.imports.engine import Kind, Row, RowError, guarded
from orderdesk.imports.kinds_orders import _number
from orderdesk.models import Contract, Installment, Order, PaymentPlan, Receipt
from orderdesk.money import plans
from orderdesk.money.receipts import record_receipt
from orderdesk.orders.timeline import record

ORDER = Column("order", "订单编号", ("订单号",), _number, example="SO-2025-0001")


class InstallmentsKind(Kind):
    name = "installments"
    title = "分期"
    roles = ("finance",)  # paid amounts become receipts, which only finance records
    columns = (
        Column("order", "订单编号", ("订单号",), _number, True, "SO-2025-0001"),
        Column("sequence", "期次", ("期数", "序号", "第几期"), read_int, True, 1),
        Column("name", "款项名称", ("款项", "分期名称"), example="首付款"),
        Column("amount", "金额", ("应收金额", "分期金额", "金额(元)"), AMOUNT, True, "36000"),
        Column(
            "due_date", "到期日", ("应收日期", "计划收款日", "到期日期"), DATE, example="2026-01-15"
        ),
        Column("paid", "已收金额", ("已收", "已回款", "已回款金额"), AMOUNT, example="36000"),
        Column("paid_on", "收款日期", ("回款日期", "到账日期"), DATE, example="2026-01-20"),
    )

    def __init__(self, session: Any, actor: Any) -> None:
        super().__init__(session, actor)
        self.seen: dict[tuple[str, int], int] = {}
        self.orders: dict[str, tuple[int, int | None] | None] = {}

    def check(self, row: Row) -> None:
        v = row.values
        number = v["order"]
        if number not in self.orders:
            found = self.session.execute(
                select(Order.id, Order.contract_id).where(Order.number == number)
            ).first()
            self.orders[number] = (found[0], found[1]) if found else None
        hit = self.orders[number]
        if hit is None:
            row.errors["order"] = f"找不到订单「{number}」"
        elif hit[1] is None:
            row.errors["order"] = (
                "订单没有合同,无法导入付款计划(请先导入合同并在订单中填写合同编号)"
            )
        if v["paid"] and v["paid"] > v["amount"]:
            row.errors["paid"] = f"已收金额 {v['paid']} 超过本期金额 {v['amount']}"
        if v["paid_on"] and v["paid_on"] > clock.today(clock.company_tz(self.session)):
            row.errors["paid_on"] = "收款日期不能晚于今天"
        key = (number, v["sequence"])
        if key in self.seen:
            row.errors["sequence"] = f"与第 {self.seen[key]} 行重复"
        self.seen[key] = row.number

    def write(self, rows: list[Row], skip_invalid: bool) -> None:
        groups: dict[str, list[Row]] = defaultdict(list)
        for row in rows:
            groups[row.values["order"]].append(row)
        for number, group in groups.items():
            self._check_group(number, group)
        if any(r.errors for r in rows) and not skip_invalid:
            return
        for number, group in groups.items():
            if any(r.errors for r in group):
                continue
            _groupguarded(self, group, lambda n=number, g=group: self._plan(n, g))

    def _check_group(self, number: str, group: list[Row]) -> None:
        hit = self.orders[number]
        assert hit is not None and hit[1] is not None
        contract = self.session.get(Contract, hit[1])
        assert contract is not None
        total = sum((r.values["amount"] for r in group), Decimal("0"))
        seqs = sorted(r.values["sequence"] for r in group)
        problem = None
        if seqs != list(range(1, len(seqs) + 1)):
            problem = f"订单 {number} 的期次应从 1 起连续编号(现为 {seqs})"
        elif total != contract.amount:
            problem = (
                f"订单 {number} 各期金额合计 {total} 不等于合同 {contract.number} "
                f"金额 {contract.amount}"
            )
        if problem:
            for row in group:
                row.errors.setdefault("amount", problem)

    def _plan(self, number: str, group: list[Row]) -> None:
        order = self.session.scalars(select(Order).where(Order.number == number)).one()
        contract = self.session.get(Contract, order.contract_id)
        assert contract is not None
        before = _shape(self.session, contract.id)
        group.sort(key=lambda r: r.values["sequence"])
        contract.payment_terms = [_term(r) for r in group]
        plans.generate_plan(self.session, contract=contract, order=order)
        self.session.flush()
        after = _shape(self.session, contract.id)
        for row in group:
            self._paid(order, row)
        paid_after = _shape(self.session, contract.id)
        for row in group:
            seq = row.values["sequence"]
            if seq not in before:
                row.outcome = "created"
            else:
                same = before[seq] == after.get(seq) == paid_after.get(seq)
                row.outcome = "unchanged" if same else "updated"

    def _paid(self, order: Order, row: Row) -> None:
        v = row.values
        inst = self.session.scalar(
            select(Installment)
            .join(PaymentPlan, PaymentPlan.id == Installment.plan_id)
            .where(
                PaymentPlan.contract_id == order.contract_id, Installment.sequence == v["sequence"]
            )
        )
        assert inst is not None
        wanted = v["paid"] or Decimal("0.00")
        if wanted < inst.paid_amount:
            raise RowError(
                f"已收金额 {wanted} 少于系统中已收 {inst.paid_amount},请先在系统中冲销回款", "paid"
            )
        if wanted == inst.paid_amount:
            return
        today = clock.today(clock.company_tz(self.session))
        day = v["paid_on"] or min(v["due_date"] or today, today)
        record_receipt(
            self.session,
            actor=self.actor,
            number=order.number,
            amount=wanted - inst.paid_amount,
            received_on=day,
            note="导入的历史回款",
            installment_ids=[inst.id],
            confirm_duplicate=True,  # the import's own number is the duplicate guard
            receipt_number=_free_number(self.session, f"IMP-{order.number}-{v['sequence']}"),
            announce=False,
        )


def _term(row: Row) -> dict[str, Any]:
    v = row.values
    term: dict[str, Any] = {
        "name": v["name"] or f"第{v['sequence']}期款",
        "amount": str(v["amount"]),
    }
    if v["due_date"] is not None:
        term.update(trigger="on_date", date=v["due_date"].isoformat())
    else:
        term["trigger"] = "on_signing"
    return term


def _shape(session: Any, contract_id: int) -> dict[int, tuple[Any, ...]]:
    rows = session.execute(
        select(
            Installment.sequence,
            Installment.name,
            Installment.amount,
            Installment.due_date,
            Installment.paid_amount,
        )
        .join(PaymentPlan, PaymentPlan.id == Installment.plan_id)
        .where(PaymentPlan.contract_id == contract_id)
    )
    return {seq: tuple(rest) for seq, *rest in rows}


def _free_number(session: Any, base: str) -> str:
    base = base[:28]
    candidate, n = base, 1
    while session.scalar(select(Receipt.id).where(Receipt.number == candidate)) is not None:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _groupguarded(kind: Kind, group: list[Row], action: Any) -> None:
    probe = Row(group[0].number, dict(group[0].values))
    guarded(kind, probe, action)
    if probe.errors:
        for row in group:
            row.errors.update(probe.errors)
            row.outcome = "refused"


class ReceiptsKind(Kind):
    name = "receipts"
    title = "回款"
    roles = ("finance",)
    columns = (
        Column(
            "number",
            "回款流水号",
            ("流水号", "回款编号", "银行流水号"),
            _number,
            True,
            "RC20260120-001",
        ),
        ORDER,
        Column("contract", "合同编号", ("合同号",), _number),
        Column("amount", "金额", ("回款金额", "到账金额", "金额(元)"), AMOUNT, True, "36000"),
        Column("received_on", "到账日期", ("回款日期", "收款日期"), DATE, True, "2026-01-20"),
        Column("method", "方式", ("收款方式", "回款方式"), example="bank"),
        Column("note", "备注", ("说明",)),
    )

    def __init__(self, session: Any, actor: Any) -> None:
        super().__init__(session, actor)
        self.seen: dict[str, int] = {}

    def check(self, row: Row) -> None:
        v = row.values
        if v["number"] in self.seen:
            row.errors["number"] = f"与第 {self.seen[v['number']]} 行重复"
        self.seen[v["number"]] = row.number
        order = None
        if v["order"]:
            order = self.session.scalar(select(Order.number).where(Order.number == v["order"]))
        elif v["contract"]:
            order = self.session.scalar(
                select(Order.number)
                .join(Contract, Contract.id == Order.contract_id)
                .where(Contract.number == v["contract"])
                .order_by(Order.id)
                .limit(1)
            )
        if order is None:
            shown = v["order"] or v["contract"]
            row.errors["order"] = f"找不到订单「{shown}」" if shown else "请填写订单编号或合同编号"
        v["order_number"] = order
        if v["amount"] is not None and v["amount"] <= 0:
            row.errors["amount"] = "回款金额必须大于 0"
        if v["received_on"] and v["received_on"] > clock.today(clock.company_tz(self.session)):
            row.errors["received_on"] = "到账日期不能晚于今天"

    def write(self, rows: list[Row], skip_invalid: bool) -> None:
        for row in rows:
            guarded(self, row, lambda r=row: self._one(r))

    def _one(self, row: Row) -> None:
        v = row.values
        found = self.session.scalar(select(Receipt).where(Receipt.number == v["number"]))
        if found is None:
            record_receipt(
                self.session,
                actor=self.actor,
                number=v["order_number"],
                amount=v["amount"],
                received_on=v["received_on"],
                note=v["note"] or None,
                method=v["method"] or "bank",
                confirm_duplicate=True,
                receipt_number=v["number"],
                announce=False,
            )
            row.outcome = "created"
            return
        _same_money(found, v["amount"], v["received_on"])
        wanted = {"note": v["note"] or None, "method": (v["method"] or found.method)[:16]}
        changes = {k: (getattr(found, k), x) for k, x in wanted.items() if getattr(found, k) != x}
        if not changes:
            row.outcome = "unchanged"
            return
        for key, (_old, new) in changes.items():
            setattr(found, key, new)
        said = ";".join(f"{k}:{o or '空'} → {n or '空'}" for k, (o, n) in changes.items())
        record(
            self.session,
            kind="payment",
            actor=self.actor,
            body=f"导入修改回款 {found.number} {said}",
            customer_id=found.customer_id,
        )
        row.outcome = "updated"


def _same_money(found: Receipt, amount: Decimal, day: date) -> None:
    if found.reversed_at is not None:
        raise RowError(f"回款 {found.number} 已冲销,不能再导入", "number")
    if found.amount != amount or found.received_on != day:
        raise RowError(
            f"回款 {found.number} 已入账({found.amount} 元,{found.received_on.isoformat()}),"
            "金额或日期不同,请先在系统中冲销再导入",
            "amount",
        )
