"""Creating, editing and archiving customers and their contacts, with the duplicate guard.

One set of functions for the API and the chat (`新客户`). Duplicates are refused on the
normalised name and on the 统一社会信用代码; the database's unique indexes back the check up
when two people create the same customer at the same moment (the loser gets the same refusal).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from orderdesk.directory.credit_code import normalize_credit_code
from orderdesk.directory.customers import customer_scope
from orderdesk.directory.permissions import owns_or_leads, require_role
from orderdesk.models import Contact, Customer, Staff
from orderdesk.orders.timeline import record

CREATE_ROLES = ("sales", "manager", "gm", "admin")
EDITABLE_FIELDS = ("name", "short_name", "industry", "credit_code")
FIELD_NAMES_ZH = {
    "name": "名称",
    "short_name": "简称",
    "industry": "行业",
    "credit_code": "统一社会信用代码",
}
PHONE_RE = re.compile(r"^\+?[0-9][0-9-]{4,19}$")
DUPLICATE_NAME = "已有同名客户,请勿重复创建"
DUPLICATE_CODE = "该统一社会信用代码已被其他客户使用"


def normalize_name(raw: str) -> str:
    """Full-width brackets and runs of spaces are the usual ways one name gets typed twice."""
    text = raw.replace("(", "(").replace(")", ")")
    return re.sub(r"\s+", " ", text).strip()


def _clean_name(raw: Any) -> str:
    name = normalize_name(raw if isinstance(raw, str) else "")
    if not name or len(name) > 128:
        raise ValidationFailed("客户名称不能为空且不超过 128 字", fields={"name": "invalid"})
    return name


def _clean_code(raw: Any) -> str | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    code = normalize_credit_code(raw) if isinstance(raw, str) else None
    if code is None:
        raise ValidationFailed(
            "统一社会信用代码无效(应为 18 位,且校验位正确)", fields={"credit_code": "invalid"}
        )
    return code


def _refuse_duplicates(
    session: Session, *, name: str, code: str | None, except_id: int | None = None
) -> None:
    same_name = select(Customer.id).where(func.lower(Customer.name) == name.lower())
    if except_id is not None:
        same_name = same_name.where(Customer.id != except_id)
    if session.scalar(same_name.limit(1)) is not None:
        raise Conflict(DUPLICATE_NAME, fields={"name": "duplicate"})
    if code is None:
        return
    same_code = select(Customer.id).where(Customer.credit_code == code)
    if except_id is not None:
        same_code = same_code.where(Customer.id != except_id)
    if session.scalar(same_code.limit(1)) is not None:
        raise Conflict(DUPLICATE_CODE, fields={"credit_code": "duplicate"})


def _flush_guarded(session: Session, customer: Customer) -> None:
    """Flush in a savepoint: a unique index that fires (a parallel twin) reads as a duplicate."""
    try:
        with session.begin_nested():
            session.add(customer)
            session.flush()
    except IntegrityError as exc:
        detail = str(exc.orig).lower()
        message = DUPLICATE_CODE if "credit_code" in detail else DUPLICATE_NAME
        raise Conflict(message) from exc


def clean_contact(data: dict[str, Any]) -> dict[str, str | None]:
    """A contact's fields, checked: a name, and a phone that looks like one when given."""
    name = normalize_name(str(data.get("name") or ""))
    if not name or len(name) > 64:
        raise ValidationFailed("联系人姓名不能为空且不超过 64 字", fields={"contact": "name"})
    phone = str(data.get("phone") or "").strip() or None
    if phone is not None and not PHONE_RE.match(phone):
        raise ValidationFailed("联系人电话格式不正确", fields={"contact": "phone"})
    title = str(data.get("title") or "").strip()[:64] or None
    email = str(data.get("email") or "").strip()[:128] or None
    return {"name": name, "phone": phone, "title": title, "email": email}


def create_customer(session: Session, *, actor: Staff, data: dict[str, Any]) -> Customer:
    """A new customer owned by `actor`, with its contacts; duplicates refused (Conflict)."""
    require_role(actor, *CREATE_ROLES)
    name = _clean_name(data.get("name"))
    code = _clean_code(data.get("credit_code"))
    contacts = [clean_contact(c) for c in data.get("contacts") or []]
    _refuse_duplicates(session, name=name, code=code)
    customer = Customer(
        name=name,
        short_name=(data.get("short_name") or "").strip() or None,
        industry=(data.get("industry") or "").strip() or None,
        credit_code=code,
        owner_id=actor.id,
        tags=[],
        is_new=True,
    )
    customer.contacts = [Contact(**c) for c in contacts]
    _flush_guarded(session, customer)
    record(
        session,
        kind="customer",
        actor=actor,
        body=f"新建客户 {name}",
        customer_id=customer.id,
    )
    return customer


def editable_customer(session: Session, *, actor: Staff, customer_id: int) -> Customer:
    """The customer when `actor` may change it: its owner, their managers, gm / admin.
    Out of scope reads as not found; in scope but not theirs to change is forbidden."""
    customer = session.scalar(
        select(Customer).where(Customer.id == customer_id, customer_scope(actor))
    )
    if customer is None:
        raise NotFound("未找到该客户")
    if not owns_or_leads(actor, customer.owner):
        raise PermissionDenied("只有客户负责人、其上级或管理员可以修改客户")
    return customer


def update_customer(
    session: Session, *, actor: Staff, customer_id: int, data: dict[str, Any]
) -> Customer:
    """Change the given fields; the timeline records each as old → new."""
    customer = editable_customer(session, actor=actor, customer_id=customer_id)
    wanted: dict[str, Any] = {}
    if "name" in data:
        wanted["name"] = _clean_name(data["name"])
    if "credit_code" in data:
        wanted["credit_code"] = _clean_code(data["credit_code"])
    for key in ("short_name", "industry"):
        if key in data:
            wanted[key] = (data[key] or "").strip() or None
    changes = {k: (getattr(customer, k), v) for k, v in wanted.items() if getattr(customer, k) != v}
    if not changes:
        return customer
    _refuse_duplicates(
        session,
        name=wanted.get("name", customer.name),
        code=wanted.get("credit_code", customer.credit_code),
        except_id=customer.id,
    )
    for key, (_old, new) in changes.items():
        setattr(customer, key, new)
    _flush_guarded(session, customer)
    said = ";".join(
        f"{FIELD_NAMES_ZH[k]}:{o or '空'} → {n or '空'}" for k, (o, n) in changes.items()
    )
    record(
        session,
        kind="customer",
        actor=actor,
        body=f"修改客户 {said}",
        customer_id=customer.id,
        data={"changes": {k: [o, n] for k, (o, n) in changes.items()}},
    )
    return customer


def archive_customer(
    session: Session, *, actor: Staff, customer_id: int, archived: bool = True
) -> Customer:
    """Archive (or restore) a customer: it leaves search; its orders and history stay."""
    customer = editable_customer(session, actor=actor, customer_id=customer_id)
    if (customer.archived_at is not None) == archived:
        return customer
    customer.archived_at = clock.now() if archived else None
    record(
        session,
        kind="customer",
        actor=actor,
        body=f"{'归档' if archived else '恢复'}客户 {customer.name}",
        customer_id=customer.id,
    )
    session.flush()
    return customer


def add_contact(
    session: Session, *, actor: Staff, customer_id: int, data: dict[str, Any]
) -> Contact:
    customer = editable_customer(session, actor=actor, customer_id=customer_id)
    contact = Contact(customer_id=customer.id, **clean_contact(data))
    session.add(contact)
    session.flush()
    record(
        session,
        kind="customer",
        actor=actor,
        body=f"新增联系人 {contact.name}",
        customer_id=customer.id,
    )
    return contact


def update_contact(
    session: Session, *, actor: Staff, customer_id: int, contact_id: int, data: dict[str, Any]
) -> Contact:
    customer = editable_customer(session, actor=actor, customer_id=customer_id)
    contact = session.scalar(
        select(Contact).where(Contact.id == contact_id, Contact.customer_id == customer.id)
    )
    if contact is None:
        raise NotFound("未找到该联系人")
    merged = {k: getattr(contact, k) for k in ("name", "phone", "title", "email")}
    merged.update({k: v for k, v in data.items() if k in merged})
    for key, value in clean_contact(merged).items():
        setattr(contact, key, value)
    session.flush()
    return contact
