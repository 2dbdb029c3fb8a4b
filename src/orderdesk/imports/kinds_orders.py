"""Contracts (by 合同编号) and orders (by 订单编号).

New orders go in by bulk INSERT (the order service creates one order per call and announces
each; a sheet of old orders must not flood WeCom), checked by the same rules first: an active
order type, a customer and contract that exist and agree, an owner on the staff, a known status
and business line, an amount to the cent. A changed existing order goes through
`orders.update_order`, whose rules (frozen fields after approval) decide; its status never
changes by import (that is the state machine's).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from orderdesk.core import clock
from orderdesk.imports import bulk
from orderdesk.imports.columns import AMOUNT, DATE, Column, choice, read_rate, read_text
from orderdesk.imports.engine import Kind, Row, RowError, guarded, refuse
from orderdesk.imports.lookups import CustomerIndex, lines_by_name, staff_by_name, types_by_name
from orderdesk.imports.values import CellError
from orderdesk.models import Contract, Order, Staff
from orderdesk.models.order import ORDER_STATUS_ZH
from orderdesk.money import plans
from orderdesk.money.contracts import update_contract
from orderdesk.orders.edit import update_order
from orderdesk.orders.timeline import PLAIN_KEY, record

STATUS = choice({v: k for k, v in ORDER_STATUS_ZH.items()})
POLICY = choice({"先款后票": "payment_first", "先票后款": "invoice_first"})
CHUNK = 1000


def _number(raw: Any) -> str:
    text = read_text(raw).upper().replace(" ", "")
    if len(text) > 32:
        raise CellError("编号最多 32 个字符")
    return text


CUSTOMER_CODE = Column("customer_code", "客户编码", ("客户代码", "客户编号"), example="C0001")
CUSTOMER = Column("customer", "客户名称", ("客户", "公司名称"), example="杭州青禾数字科技有限公司")


def _customer(kind: Any, row: Row) -> int | None:
    v = row.values
    cid = kind.index.find(v["customer_code"], v["customer"])
    if cid is None:
        shown = v["customer_code"] or v["customer"]
        row.errors["customer_code"] = (
            f"找不到客户「{shown}」" if shown else "请填写客户编码或客户名称"
        )
    return cid


def _seen(seen: dict[str, int], row: Row, key: str, column: str) -> None:
    if key in seen:
        row.errors[column] = f"与第 {seen[key]} 行重复"
    seen[key] = row.number


class ContractsKind(Kind):
    name = "contracts"
    title = "合同"
    columns = (
        Column("number", "合同编号", ("合同号",), _number, True, "HT-2026-0001"),
        CUSTOMER_CODE,
        CUSTOMER,
        Column("title", "合同名称", ("合同标题", "名称"), example="数据平台实施"),
        Column("amount", "合同金额", ("金额", "合同额"), AMOUNT, True, "120000.00"),
        Column("tax_rate", "税率", (), read_rate, example="6%"),
        Column("signed_date", "签订日期", ("签约日期", "签署日期"), DATE, example="2026-01-05"),
        Column(
            "policy",
            "开票方式",
            ("开票政策",),
            POLICY,
            example="先款后票",
            options=("先款后票", "先票后款"),
        ),
    )

    def __init__(self, session: Any, actor: Any) -> None:
        super().__init__(session, actor)
        self.index = CustomerIndex.load(session)
        self.seen: dict[str, int] = {}

    def check(self, row: Row) -> None:
        v = row.values
        v["customer_id"] = _customer(self, row)
        _seen(self.seen, row, v["number"], "number")
        found = self.session.scalar(select(Contract).where(Contract.number == v["number"]))
        if found is not None and v["customer_id"] not in (None, found.customer_id):
            row.errors["customer_code"] = "该合同属于其他客户"
        v["id"] = found.id if found else None

    def write(self, rows: list[Row], skip_invalid: bool) -> None:
        for row in rows:
            action = self._create if row.values["id"] is None else self._update
            guarded(self, row, lambda r=row, a=action: a(r))

    def _create(self, row: Row) -> None:
        v = row.values
        contract = Contract(
            number=v["number"],
            customer_id=v["customer_id"],
            title=v["title"] or "",
            amount=v["amount"],
            tax_rate=v["tax_rate"] if v["tax_rate"] is not None else plans.Decimal("0.06"),
            signed_date=v["signed_date"],
            status="signed" if v["signed_date"] else "draft",
            invoicing_policy=v["policy"] or "payment_first",
            # One installment until an installments sheet gives the real plan.
            payment_terms=[{"name": "合同款", "percent": "100", "trigger": "on_signing"}],
        )
        self.session.add(contract)
        self.session.flush()
        record(
            self.session,
            kind="contract",
            actor=self.actor,
            body=f"导入合同 {contract.number},金额 {contract.amount}",
            customer_id=contract.customer_id,
        )
        plans.generate_plan(self.session, contract=contract)
        row.outcome = "created"

    def _update(self, row: Row) -> None:
        v = row.values
        contract = self.session.get(Contract, v["id"])
        assert contract is not None
        data: dict[str, Any] = {}
        if v["title"] and v["title"] != contract.title:
            data["title"] = v["title"]
        if v["amount"] != contract.amount:
            data["amount"] = str(v["amount"])
        if v["signed_date"] and v["signed_date"] != contract.signed_date:
            data["signed_date"] = v["signed_date"].isoformat()
        side = {}
        if v["tax_rate"] is not None and v["tax_rate"] != contract.tax_rate:
            side["tax_rate"] = v["tax_rate"]
        if v["policy"] and v["policy"] != contract.invoicing_policy:
            side["invoicing_policy"] = v["policy"]
        if not data and not side:
            row.outcome = "unchanged"
            return
        said = ";".join(f"{k}:{getattr(contract, k)} → {x}" for k, x in {**data, **side}.items())
        if data:
            update_contract(self.session, actor=self.actor, contract_id=contract.id, data=data)
        for key, value in side.items():
            setattr(contract, key, value)
        record(
            self.session,
            kind="contract",
            actor=self.actor,
            body=f"导入修改合同 {contract.number} {said}",
            customer_id=contract.customer_id,
        )
        row.outcome = "updated"


class OrdersKind(Kind):
    name = "orders"
    title = "订单"
    columns = (
        Column("number", "订单编号", ("订单号", "单号"), _number, True, "SO-2025-0001"),
        Column("title", "订单名称", ("订单标题", "项目名称", "名称"), example="数据平台实施"),
        CUSTOMER_CODE,
        CUSTOMER,
        Column("order_type", "订单类型", ("类型",), example=""),
        Column("business_line", "业务线", ("业务条线",), example=""),
        Column("owner", "负责人", ("销售", "销售负责人", "订单负责人"), example="zhangsan"),
        Column(
            "status",
            "状态",
            ("订单状态",),
            STATUS,
            example="执行中",
            options=tuple(ORDER_STATUS_ZH.values()),
        ),
        Column("amount", "金额", ("订单金额", "合同金额", "金额(元)"), AMOUNT, True, "¥12,000.00"),
        Column("currency", "币种", (), example="CNY"),
        Column("contract", "合同编号", ("合同号",), _number, example=""),
    )

    def __init__(self, session: Any, actor: Any) -> None:
        super().__init__(session, actor)
        self.index = CustomerIndex.load(session)
        self.staff = staff_by_name(session)
        self.userids = dict(session.execute(select(Staff.id, Staff.userid)).tuples().all())
        self.lines = lines_by_name(session)
        self.types = types_by_name(session)
        self.contracts = {
            n: (cid, cust)
            for cid, n, cust in session.execute(
                select(Contract.id, Contract.number, Contract.customer_id)
            )
        }
        self.seen: dict[str, int] = {}

    def options(self) -> dict[str, list[str]]:
        return {
            "order_type": sorted(k for k in self.types if not k.isascii()),
            "business_line": sorted(k for k in self.lines if not k.isascii()),
            "owner": sorted(k for k in self.staff if k.isascii()),
        }

    def check(self, row: Row) -> None:
        v = row.values
        # Blank is fine for an order already here (a partial sheet); write() needs it for new ones.
        given = v["customer_code"] or v["customer"]
        v["customer_id"] = _customer(self, row) if given else None
        _seen(self.seen, row, v["number"], "number")
        self._refs(row)
        currency = (v["currency"] or "CNY").upper()
        if len(currency) != 3 or not currency.isalpha():
            row.errors["currency"] = "币种须为三位字母代码,如 CNY"
        v["currency"] = currency

    def _refs(self, row: Row) -> None:
        v = row.values
        for key, table, label in (
            ("owner", self.staff, "员工"),
            ("business_line", self.lines, "业务线"),
        ):
            v[f"{key}_id"] = table.get(v[key].lower()) if v[key] else None
            if v[key] and v[f"{key}_id"] is None:
                row.errors[key] = f"找不到{label}「{v[key]}」"
        kind = self.types.get(v["order_type"].lower()) if v["order_type"] else None
        if v["order_type"] and kind is None:
            row.errors["order_type"] = f"找不到启用的订单类型「{v['order_type']}」"
        v["type"] = kind
        v["contract_id"] = None
        if v["contract"]:
            found = self.contracts.get(v["contract"])
            if found is None:
                row.errors["contract"] = f"找不到合同「{v['contract']}」(请先导入合同)"
            elif v["customer_id"] is not None and found[1] != v["customer_id"]:
                row.errors["contract"] = "合同与订单不属于同一客户"
            else:
                v["contract_id"] = found[0]

    def write(self, rows: list[Row], skip_invalid: bool) -> None:
        existing = self._existing([r.values["number"] for r in rows])
        new = [r for r in rows if r.values["number"] not in existing]
        for row in new:
            if row.values["customer_id"] is None:
                row.errors.setdefault("customer_code", "新订单必须填写客户编码或客户名称")
            if row.values["type"] is None:
                row.errors.setdefault("order_type", "新订单必须填写订单类型")
            if row.values["owner_id"] is None:
                row.errors.setdefault("owner", "新订单必须填写负责人")
        if any(r.errors for r in new) and not skip_invalid:
            return  # all or nothing: checked before the first INSERT
        self._create([r for r in new if not r.errors])
        self._update(rows, existing)

    def _existing(self, numbers: Sequence[str]) -> dict[str, Any]:
        """The compared fields of the orders already here (plain rows, not ORM objects: a
        re-import of 100,000 unchanged rows must not load 100,000 orders into the session)."""
        cols = (
            Order.number,
            Order.id,
            Order.status,
            Order.title,
            Order.customer_id,
            Order.owner_id,
            Order.business_line_id,
            Order.contract_id,
            Order.currency,
            Order.amount,
        )
        found: dict[str, Any] = {}
        for start in range(0, len(numbers), CHUNK):
            chunk = numbers[start : start + CHUNK]
            for snap in self.session.execute(select(*cols).where(Order.number.in_(chunk))):
                found[snap.number] = snap
        return found

    def _create(self, rows: list[Row]) -> None:
        """Batch by batch, so the INSERT parameters never exist for the whole sheet at once."""
        now = clock.now()
        for chunk in bulk.chunks(rows):
            dicts = [self._order_row(r.values, now) for r in chunk]
            ids = bulk.insert_rows(self.session, Order, dicts, key="number")
            bulk.timeline(
                self.session, [self._entry(r, oid) for r, oid in zip(chunk, ids, strict=True)]
            )

    def _order_row(self, v: dict[str, Any], now: Any) -> dict[str, Any]:
        type_id, type_line = v["type"]
        status = v["status"] or "in_progress"
        return {
            "number": v["number"],
            "title": v["title"] or v["number"],
            "order_type_id": type_id,
            "customer_id": v["customer_id"],
            "contract_id": v["contract_id"],
            "owner_id": v["owner_id"],
            "business_line_id": v["business_line_id"] or type_line,
            "status": status,
            "amount": v["amount"],
            # No lines come with a sheet: the amount is the sheet's, kept as an override (else
            # the order service would re-derive it from the (empty) lines on the next edit).
            "amount_overridden": True,
            "override_reason": "导入表格中的金额",
            "discount_rate": plans.Decimal("0"),
            "currency": v["currency"],
            "custom_fields": {},
            "version": 1,
            "updated_by_id": self.actor.id,
            "closed_at": now if status in ("closed", "cancelled") else None,
        }

    def _entry(self, row: Row, order_id: int) -> dict[str, Any]:
        row.outcome = "created"
        v = row.values
        status = ORDER_STATUS_ZH[v["status"] or "in_progress"]
        return {
            "kind": "created",
            "actor_id": self.actor.id,
            "body": f"导入订单 {v['number']},金额 {v['amount']},状态 {status}",
            # The same entry without the amount, for those who may not see money.
            "data": {"import": True, PLAIN_KEY: f"导入订单 {v['number']},状态 {status}"},
            "order_id": order_id,
            "customer_id": v["customer_id"],
        }

    def _changes(self, row: Row, order: Any) -> dict[str, Any]:
        """What the row would change, in update_order's terms (empty: unchanged)."""
        v = row.values
        if v["status"] and v["status"] != order.status:
            now = ORDER_STATUS_ZH.get(order.status, order.status)
            raise RowError(f"状态不能通过导入修改(当前{now}),请在系统中办理", "status")
        changes: dict[str, Any] = {}
        for key, new, old in (
            ("title", v["title"], order.title),
            ("customer_id", v["customer_id"], order.customer_id),
            ("owner_userid", v["owner_id"], order.owner_id),
            ("business_line_id", v["business_line_id"], order.business_line_id),
            ("contract_id", v["contract_id"], order.contract_id),
            ("currency", v["currency"], order.currency),
        ):
            if new is not None and new != old:
                changes[key] = new
        if "owner_userid" in changes:
            changes["owner_userid"] = self.userids[v["owner_id"]]
        if v["amount"] != order.amount:
            changes.update(amount=str(v["amount"]), override_reason="导入表格中的金额")
        return changes

    def _update(self, rows: list[Row], existing: dict[str, Any]) -> None:
        """Unchanged rows cost a comparison; a changed one goes through update_order alone."""
        for row in rows:
            order = existing.get(row.values["number"])
            if order is None:
                continue
            try:
                changes = self._changes(row, order)
            except RowError as exc:
                refuse(row, exc)
                continue
            if not changes:
                row.outcome = "unchanged"
                continue
            guarded(self, row, lambda r=row, o=order, c=changes: self._apply(r, o, c))

    def _apply(self, row: Row, order: Any, changes: dict[str, Any]) -> None:
        update_order(
            self.session,
            actor=self.actor,
            number=order.number,
            changes=changes,
            expected_version=None,
        )
        row.outcome = "updated"
