"""Orders: create, edit, move through the lifecycle, log progress. The public order service.

Look-ups live in `order_queries`, the state table in `order_states`, numbering in
`order_numbers`, lines and amounts in `order_lines`; this module re-exports them so callers
import one name: `from services import orders`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Activity, Attachment, BusinessLine, Contract, Customer, Order, OrderType, Staff
from services import custom_fields, timeline
from services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from services.order_common import conflict_message, flush_or_conflict
from services.order_lines import build_lines, line_amount, lines_total, list_price_discount, money
from services.order_notify import notify_progress, notify_update
from services.order_numbers import insert_with_number
from services.order_queries import (
    get_order,
    list_orders,
    order_counts,
    search_orders,
    suggest,
)
from services.order_states import (
    MANAGER,
    TRANSITIONS,
    USER,
    allowed_from,
    apply_status,
    check,
    describe_allowed,
    parse_status,
)
from services.permissions import can_manage, require_role

__all__ = [
    "TRANSITIONS",
    "add_progress",
    "allowed_from",
    "apply_status",
    "create_order",
    "describe_allowed",
    "get_order",
    "line_amount",
    "list_orders",
    "order_counts",
    "search_orders",
    "suggest",
    "transition",
    "update_order",
]

CREATE_KEYS = frozenset(
    {
        "order_type",
        "order_type_id",
        "customer",
        "customer_id",
        "title",
        "owner_userid",
        "contract",
        "contract_id",
        "business_line",
        "business_line_id",
        "lines",
        "amount",
        "override_reason",
        "discount_rate",
        "currency",
        "custom_fields",
    }
)
# Fields that change what was (or will be) approved: editable only while the order is a draft.
DRAFT_ONLY_KEYS = frozenset(
    {
        "customer",
        "customer_id",
        "contract",
        "contract_id",
        "lines",
        "amount",
        "discount_rate",
        "currency",
        "order_type",
        "order_type_id",
        "business_line",
        "business_line_id",
    }
)
UPDATE_KEYS = frozenset(CREATE_KEYS - {"order_type", "order_type_id"})
FINAL_STATES = ("closed", "cancelled")
CREATOR_ROLES = ("sales", "manager", "gm", "admin")
MAX_PROGRESS_CHARS = 2000


def _lookup(
    session: Session,
    data: Mapping[str, Any],
    *,
    model: Any,
    by_id: str,
    by_code: str,
    column: Any,
    label: str,
    errors: dict[str, str],
) -> Any:
    if data.get(by_id) is not None:
        found = session.get(model, data[by_id])
    elif data.get(by_code):
        found = session.scalar(select(model).where(column == str(data[by_code]).strip()))
    else:
        return None
    if found is None:
        errors[by_code] = f"找不到{label} {data.get(by_code) or data.get(by_id)}"
    return found


def _discount(raw: Any, errors: dict[str, str]) -> Decimal | None:
    value = custom_fields.parse_decimal(raw)
    if value is None or value < 0 or value >= 1:
        errors["discount_rate"] = "折扣率必须是 0 到 1 之间的小数(如 0.15 表示 15%)"
        return None
    return value.quantize(Decimal("0.0001"))


def _staff(session: Session, userid: str, errors: dict[str, str]) -> Staff | None:
    staff = session.scalar(select(Staff).where(Staff.userid == str(userid).strip()))
    if staff is None or not staff.active:
        errors["owner_userid"] = f"找不到人员 {userid}"
        return None
    return staff


def _reject_unknown(data: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        fields = dict.fromkeys(unknown, "未知字段")
        raise ValidationFailed(f"未知字段:{', '.join(unknown)}", fields=fields)


def _raise_if(errors: dict[str, str]) -> None:
    if errors:
        raise ValidationFailed("订单信息有误:" + ";".join(errors.values()), fields=errors)


def _set_amount(
    order: Order, data: Mapping[str, Any], errors: dict[str, str], *, derived: Decimal
) -> str | None:
    """Derive the amount from the lines, or apply an explicit override (reason required).

    Returns a timeline note when an override is set or cleared.
    """
    if "amount" in data and data["amount"] is not None:
        value = money(data["amount"], field="amount", errors=errors, label="订单金额")
        reason = str(data.get("override_reason") or "").strip()
        if not reason:
            errors["override_reason"] = "手工调整金额需要填写原因"
        if value is None or not reason:
            return None
        order.amount, order.amount_overridden, order.override_reason = value, True, reason
        return f"金额手工调整为 {value}(明细合计 {derived},原因:{reason})"
    if "amount" in data and order.amount_overridden:  # explicit None: back to the lines
        order.amount_overridden, order.override_reason = False, None
        order.amount = derived
        return f"取消手工金额,按明细合计 {derived}"
    if not order.amount_overridden:
        order.amount = derived
    return None


def create_order(session: Session, *, actor: Staff, data: Mapping[str, Any]) -> Order:
    """A new draft order from `data` (see CREATE_KEYS); every problem reported at once."""
    require_role(actor, *CREATOR_ROLES)
    _reject_unknown(data, CREATE_KEYS)
    errors: dict[str, str] = {}
    order_type = _lookup(
        session,
        data,
        model=OrderType,
        by_id="order_type_id",
        by_code="order_type",
        column=OrderType.code,
        label="订单类型",
        errors=errors,
    )
    if order_type is None and "order_type" not in errors:
        errors["order_type"] = "请选择订单类型"
    elif order_type is not None and not order_type.active:
        errors["order_type"] = f"订单类型 {order_type.name} 已停用"
    customer = _lookup(
        session,
        data,
        model=Customer,
        by_id="customer_id",
        by_code="customer",
        column=Customer.name,
        label="客户",
        errors=errors,
    )
    if customer is None and "customer" not in errors:
        errors["customer"] = "请选择客户"
    contract = _lookup(
        session,
        data,
        model=Contract,
        by_id="contract_id",
        by_code="contract",
        column=Contract.number,
        label="合同",
        errors=errors,
    )
    if contract is not None and customer is not None and contract.customer_id != customer.id:
        errors["contract"] = "合同不属于该客户"
    line = _lookup(
        session,
        data,
        model=BusinessLine,
        by_id="business_line_id",
        by_code="business_line",
        column=BusinessLine.code,
        label="业务线",
        errors=errors,
    )
    owner = actor
    if data.get("owner_userid") and data["owner_userid"] != actor.userid:
        if not actor.has_role("manager", "gm", "admin"):
            errors["owner_userid"] = "只有经理可以为他人创建订单"
        else:
            owner = _staff(session, data["owner_userid"], errors) or actor
    title = str(data.get("title") or "").strip()
    if len(title) > 200:
        errors["title"] = "标题最多 200 个字"
    currency = str(data.get("currency") or "CNY").strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        errors["currency"] = "币种须为三位字母代码,如 CNY"
    lines = build_lines(
        session,
        data.get("lines") or [],
        default_billing=order_type.default_billing_method if order_type else "fixed",
        errors=errors,
    )
    cleaned: dict[str, Any] = {}
    if order_type is not None:
        try:
            cleaned = custom_fields.validate_values(
                order_type.field_schema or [], data.get("custom_fields"), session=session
            )
        except ValidationFailed as exc:
            errors.update({f"custom_fields.{k}": v for k, v in exc.fields.items()})
    discount = _discount(data["discount_rate"], errors) if data.get("discount_rate") else None
    order = Order(
        title=title or (f"{customer.name} {order_type.name}" if customer and order_type else ""),
        status="draft",
        currency=currency,
        custom_fields=cleaned,
        amount_overridden=False,
        version=1,
    )
    override_note = _set_amount(order, data, errors, derived=lines_total(lines))
    _raise_if(errors)
    assert order_type is not None and customer is not None
    order.order_type_id = order_type.id
    order.customer_id = customer.id
    order.contract_id = contract.id if contract else None
    order.owner_id = owner.id
    order.business_line_id = line.id if line else order_type.business_line_id
    order.updated_by_id = actor.id
    order.lines = lines
    order.discount_rate = discount if discount is not None else list_price_discount(session, lines)
    insert_with_number(session, order)
    body = f"创建订单 {order.number}:{order.title},金额 {order.amount}"
    timeline.record(
        session,
        kind="created",
        actor=actor,
        body=body,
        order=order,
        data={"amount": str(order.amount), "lines": len(lines), "owner": owner.userid},
    )
    if override_note:
        timeline.record(
            session,
            kind="updated",
            actor=actor,
            body=override_note,
            order=order,
            data={"override": True, "reason": order.override_reason},
        )
    return order


def _fmt(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def update_order(
    session: Session,
    *,
    actor: Staff,
    number: str,
    changes: Mapping[str, Any],
    expected_version: int | None,
) -> Order:
    """Apply `changes` (see UPDATE_KEYS) guarded by the version the editor saw."""
    order = get_order(session, actor=actor, number=number)
    if expected_version is not None and order.version != expected_version:
        raise_conflict(order)
    if not can_manage(actor, order):
        raise PermissionDenied("只有订单负责人、项目经理或经理可以修改订单")
    if order.status in FINAL_STATES:
        raise ValidationFailed(f"订单已{order.status_zh},不能再修改")
    _reject_unknown(changes, UPDATE_KEYS)
    locked = sorted(k for k in changes if k in DRAFT_ONLY_KEYS)
    if locked and order.status != "draft":
        raise ValidationFailed(
            f"订单{order.status_zh},客户、合同、明细和金额只能在草稿状态修改",
            fields=dict.fromkeys(locked, "仅草稿可改"),
        )
    errors: dict[str, str] = {}
    diff: dict[str, list[Any]] = {}
    # No autoflush while collecting: a look-up must not write a half-edited order.
    with session.no_autoflush:

        def put(field: str, new: Any) -> None:
            old = getattr(order, field)
            if old != new:
                diff[field] = [_fmt(old), _fmt(new)]
                setattr(order, field, new)

        if "title" in changes:
            title = str(changes["title"] or "").strip()
            if not title or len(title) > 200:
                errors["title"] = "标题不能为空,最多 200 个字"
            else:
                put("title", title)
        if "custom_fields" in changes:
            if not isinstance(changes["custom_fields"], Mapping):
                errors["custom_fields"] = "自定义字段格式错误"
            else:
                try:
                    merged = custom_fields.merge_values(
                        order.order_type.field_schema or [],
                        order.custom_fields,
                        changes["custom_fields"],
                        session=session,
                    )
                    put("custom_fields", merged)
                except ValidationFailed as exc:
                    errors.update({f"custom_fields.{k}": v for k, v in exc.fields.items()})
        if changes.get("owner_userid"):
            if not actor.has_role("manager", "gm", "admin"):
                errors["owner_userid"] = "只有经理可以转交订单"
            else:
                owner = _staff(session, changes["owner_userid"], errors)
                if owner is not None:
                    put("owner_id", owner.id)
        for key, model, col, label, attr in (
            ("customer", Customer, Customer.name, "客户", "customer_id"),
            ("contract", Contract, Contract.number, "合同", "contract_id"),
            ("business_line", BusinessLine, BusinessLine.code, "业务线", "business_line_id"),
        ):
            if key in changes or f"{key}_id" in changes:
                found = _lookup(
                    session,
                    changes,
                    model=model,
                    by_id=f"{key}_id",
                    by_code=key,
                    column=col,
                    label=label,
                    errors=errors,
                )
                if found is not None:
                    put(attr, found.id)
        if changes.get("currency"):
            put("currency", str(changes["currency"]).strip().upper()[:3])
        if "discount_rate" in changes:
            discount = _discount(changes["discount_rate"], errors)
            if discount is not None:
                put("discount_rate", discount)
        new_lines = None
        if "lines" in changes:
            new_lines = build_lines(
                session,
                changes["lines"] or [],
                default_billing=order.order_type.default_billing_method,
                errors=errors,
            )
        derived = lines_total(new_lines) if new_lines is not None else order.lines_total()
        before_amount = order.amount
        override_note = _set_amount(order, changes, errors, derived=derived)
        _raise_if(errors)
        if errors:
            session.expire(order)  # bad input changes nothing, even in this session
        _raise_if(errors)
    if new_lines is not None:
        order.lines = new_lines
        diff["lines"] = [None, len(new_lines)]
        if "discount_rate" not in changes:
            order.discount_rate = list_price_discount(session, new_lines)
    if order.amount != before_amount:
        diff["amount"] = [str(before_amount), str(order.amount)]
    if not diff and not override_note:
        return order  # nothing changed: no version bump, no noise
    order.updated_by_id = actor.id
    flush_or_conflict(session, order)
    summary = "、".join(_FIELD_NAMES_ZH.get(k, k) for k in diff) or "金额"
    timeline.record(
        session,
        kind="updated",
        actor=actor,
        body=override_note or f"修改了{summary}",
        order=order,
        data={"changes": diff, "override_reason": order.override_reason},
    )
    notify_update(session, order, actor=actor, summary=override_note or summary)
    return order


_FIELD_NAMES_ZH = {
    "title": "标题",
    "custom_fields": "自定义字段",
    "owner_id": "负责人",
    "customer_id": "客户",
    "contract_id": "合同",
    "business_line_id": "业务线",
    "currency": "币种",
    "discount_rate": "折扣",
    "lines": "明细",
    "amount": "金额",
}


def raise_conflict(order: Order) -> None:
    editor = order.updated_by.name if order.updated_by is not None else None
    raise Conflict(conflict_message(editor))


def transition(
    session: Session, *, actor: Staff, number: str, to: str, reason: str | None = None
) -> Order:
    """Move an order to another state by hand (start, deliver, accept, close, cancel)."""
    order = get_order(session, actor=actor, number=number)
    target = parse_status(to)
    if target is None:
        raise ValidationFailed(
            f"未知状态 {to}。{describe_allowed(order.status)}", fields={"to": "未知状态"}
        )
    if not can_manage(actor, order):
        raise PermissionDenied("只有订单负责人、项目经理或经理可以变更订单状态")
    who = MANAGER if actor.has_role("manager", "gm", "admin") else USER
    check(order, target, who=who, reason=reason)
    return apply_status(session, order, target, actor, reason)


def _attachments(
    session: Session, files: Sequence[Attachment | int], order: Order, actor: Staff
) -> list[Attachment]:
    found: list[Attachment] = []
    for item in files:
        att = item if isinstance(item, Attachment) else session.get(Attachment, item)
        # Only files this person uploaded, or already on this order, can be linked.
        if att is None or (att.uploader_id != actor.id and att.order_id != order.id):
            raise NotFound(f"找不到附件 {item if isinstance(item, int) else att and att.name}")
        if att.order_id not in (None, order.id):
            raise ValidationFailed(f"附件 {att.name} 属于其他订单")
        found.append(att)
    return found


def add_progress(
    session: Session,
    *,
    actor: Staff,
    number: str,
    text: str,
    files: Sequence[Attachment | int] = (),
) -> Activity:
    """A progress log on the order's timeline, with optional stored files (see attachments)."""
    order = get_order(session, actor=actor, number=number)
    body = (text or "").strip()
    if not body and not files:
        raise ValidationFailed("请填写进展内容", fields={"text": "不能为空"})
    if len(body) > MAX_PROGRESS_CHARS:
        raise ValidationFailed(
            f"进展内容最多 {MAX_PROGRESS_CHARS} 个字", fields={"text": "内容过长"}
        )
    attachments = _attachments(session, files, order, actor)
    activity = timeline.record(
        session,
        kind="progress",
        actor=actor,
        body=body or "上传了附件",
        order=order,
        data={"files": [a.name for a in attachments]},
    )
    for att in attachments:
        att.order_id = order.id
        att.activity = activity
    notify_progress(session, order, activity, actor=actor)
    return activity
