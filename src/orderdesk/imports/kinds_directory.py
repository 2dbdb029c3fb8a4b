"""Customers (by 客户编码) and contacts (by customer and name)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from orderdesk.core.errors import DomainError
from orderdesk.core.pinyin import initials_of
from orderdesk.directory.credit_code import normalize_credit_code
from orderdesk.directory.customer_admin import (
    add_contact,
    clean_contact,
    normalize_name,
    update_contact,
    update_customer,
)
from orderdesk.imports import bulk
from orderdesk.imports.columns import Column, read_text
from orderdesk.imports.engine import Kind, Row, guarded
from orderdesk.imports.lookups import CustomerIndex, staff_by_name
from orderdesk.imports.values import CellError
from orderdesk.models import Contact, Customer
from orderdesk.orders.timeline import record

CUSTOMER_FIELDS = ("name", "short_name", "industry", "credit_code")


def _code(raw: Any) -> str:
    text = read_text(raw)
    if len(text) > 32:
        raise CellError("客户编码最多 32 个字符")
    return text


class CustomersKind(Kind):
    name = "customers"
    title = "客户"
    roles = ("admin",)  # creating customers for others: admin (sales create their own in chat)
    columns = (
        Column("code", "客户编码", ("客户代码", "客户编号", "编码"), _code, True, "C0001"),
        Column(
            "name",
            "客户名称",
            ("客户", "名称", "公司名称", "客户全称"),
            required=True,
            example="杭州青禾数字科技有限公司",
        ),
        Column("short_name", "简称", ("客户简称",), example="青禾"),
        Column("industry", "行业", ("所属行业",), example="互联网"),
        Column(
            "credit_code",
            "统一社会信用代码",
            ("信用代码", "社会信用代码", "税号"),
            example="91330106MA2CFUNF4E",  # a valid check digit: an edited copy imports
        ),
        Column("owner", "负责人", ("客户负责人", "销售", "销售负责人"), example="zhangsan"),
    )

    def __init__(self, session: Any, actor: Any) -> None:
        super().__init__(session, actor)
        self.index = CustomerIndex.load(session)
        self.staff = staff_by_name(session)
        self.codes = {
            code: cid
            for cid, code in session.execute(select(Customer.id, Customer.credit_code))
            if code
        }
        self.seen_codes: dict[str, int] = {}
        self.seen_names: dict[str, int] = {}

    def options(self) -> dict[str, list[str]]:
        return {"owner": sorted(k for k in self.staff if k.isascii())}

    def check(self, row: Row) -> None:
        v = row.values
        v["name"] = normalize_name(v["name"])
        if len(v["name"]) > 128:
            row.errors["name"] = "客户名称最多 128 字"
        if v["credit_code"]:
            code = normalize_credit_code(v["credit_code"])
            if code is None:
                row.errors["credit_code"] = "统一社会信用代码无效(应为 18 位,且校验位正确)"
            v["credit_code"] = code
        if v["owner"]:
            v["owner_id"] = self.staff.get(v["owner"].lower())
            if v["owner_id"] is None:
                row.errors["owner"] = f"找不到员工「{v['owner']}」(填 userid 或唯一的姓名)"
        self._match(row)

    def _match(self, row: Row) -> None:
        v = row.values
        key, name_key = v["code"].lower(), v["name"].lower()
        for seen, value, col in (
            (self.seen_codes, key, "code"),
            (self.seen_names, name_key, "name"),
        ):
            if value in seen:
                row.errors[col] = f"与第 {seen[value]} 行重复"
            seen[value] = row.number
        by_code = self.index.by_code.get(key)
        by_name = self.index.by_name.get(name_key)
        if by_code is None and by_name is not None:
            # A customer already here under this name and without a code of its own: adopt it.
            taken = self.session.scalar(select(Customer.code).where(Customer.id == by_name))
            if taken:
                row.errors["name"] = f"已有同名客户(客户编码 {taken})"
            by_code = by_name
        elif by_code is not None and by_name not in (None, by_code):
            row.errors["name"] = "已有同名的其他客户"
        holder = self.codes.get(v["credit_code"] or "")
        if holder is not None and holder != by_code:
            row.errors["credit_code"] = "该统一社会信用代码已被其他客户使用"
        v["id"] = by_code

    def write(self, rows: list[Row], skip_invalid: bool) -> None:
        new = [r for r in rows if r.values["id"] is None]
        self._create(new)
        for row in rows:
            if row.values["id"] is not None:
                guarded(self, row, lambda r=row: self._update(r))

    def _create(self, rows: list[Row]) -> None:
        for chunk in bulk.chunks(rows):
            dicts = [_customer_row(r.values) for r in chunk]
            ids = bulk.insert_rows(self.session, Customer, dicts, key="code")
            entries = []
            for row, cid in zip(chunk, ids, strict=True):
                row.outcome = "created"
                v = row.values
                body = f"导入新建客户 {v['name']}(客户编码 {v['code']})"
                entries.append(
                    {
                        "kind": "customer",
                        "actor_id": self.actor.id,
                        "body": body,
                        "customer_id": cid,
                    }
                )
            bulk.timeline(self.session, entries)

    def _update(self, row: Row) -> None:
        v = row.values
        customer = self.session.get(Customer, v["id"])
        assert customer is not None
        wanted = {k: (v[k] or None) for k in CUSTOMER_FIELDS}
        changed = {k: x for k, x in wanted.items() if getattr(customer, k) != x}
        others = []
        if customer.code != v["code"]:
            others.append(f"客户编码:{customer.code or '空'} → {v['code']}")
            customer.code = v["code"]
        if v.get("owner_id") and customer.owner_id != v["owner_id"]:
            others.append("负责人变更")
            customer.owner_id = v["owner_id"]
        if changed:
            update_customer(self.session, actor=self.actor, customer_id=customer.id, data=changed)
        if others:
            record(
                self.session,
                kind="customer",
                actor=self.actor,
                body=f"导入修改客户 {';'.join(others)}",
                customer_id=customer.id,
            )
        row.outcome = "updated" if changed or others else "unchanged"


def _customer_row(v: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": v["code"],
        "name": v["name"],
        "name_initials": initials_of(v["name"]),  # what the model's validator keeps in step
        "short_name": v["short_name"] or None,
        "industry": v["industry"] or None,
        "credit_code": v["credit_code"],
        "owner_id": v.get("owner_id"),
        "tags": [],
        "is_new": True,
    }


class ContactsKind(Kind):
    name = "contacts"
    title = "联系人"
    roles = ("admin",)
    columns = (
        Column("customer_code", "客户编码", ("客户代码", "客户编号"), example="C0001"),
        Column("customer", "客户名称", ("客户", "公司名称")),
        Column("name", "姓名", ("联系人", "联系人姓名"), required=True, example="王敏"),
        Column("phone", "电话", ("手机", "手机号", "联系电话"), example="13800000000"),
        Column("title", "职务", ("职位",), example="IT 经理"),
        Column("email", "邮箱", ("电子邮箱", "email"), example="wm@example.com"),
    )

    def __init__(self, session: Any, actor: Any) -> None:
        super().__init__(session, actor)
        self.index = CustomerIndex.load(session)
        self.seen: dict[tuple[int, str], int] = {}

    def check(self, row: Row) -> None:
        v = row.values
        cid = self.index.find(v["customer_code"], v["customer"])
        if cid is None:
            shown = v["customer_code"] or v["customer"]
            row.errors["customer_code"] = (
                f"找不到客户「{shown}」" if shown else "请填写客户编码或客户名称"
            )
            return
        try:
            clean = clean_contact(v)
        except DomainError as exc:
            row.errors["phone" if "电话" in exc.message else "name"] = exc.message
            return
        v.update(clean, customer_id=cid)
        key = (cid, v["name"])
        if key in self.seen:
            row.errors["name"] = f"与第 {self.seen[key]} 行重复"
        self.seen[key] = row.number

    def write(self, rows: list[Row], skip_invalid: bool) -> None:
        for row in rows:
            guarded(self, row, lambda r=row: self._one(r))

    def _one(self, row: Row) -> None:
        v = row.values
        data = {k: v[k] for k in ("name", "phone", "title", "email")}
        found = self.session.scalar(
            select(Contact).where(
                Contact.customer_id == v["customer_id"], Contact.name == v["name"]
            )
        )
        if found is None:
            add_contact(self.session, actor=self.actor, customer_id=v["customer_id"], data=data)
            row.outcome = "created"
            return
        changes = {k: (getattr(found, k), x) for k, x in data.items() if getattr(found, k) != x}
        if not changes:
            row.outcome = "unchanged"
            return
        update_contact(
            self.session,
            actor=self.actor,
            customer_id=v["customer_id"],
            contact_id=found.id,
            data=data,
        )
        said = ";".join(f"{k}:{o or '空'} → {n or '空'}" for k, (o, n) in changes.items())
        record(
            self.session,
            kind="customer",
            actor=self.actor,
            body=f"导入修改联系人 {v['name']} {said}",
            customer_id=v["customer_id"],
        )
        row.outcome = "updated"
