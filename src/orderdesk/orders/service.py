"""Orders: create, edit, move through the lifecycle, log progress. The public order service.

Look-ups live in `order_queries`, edits in `order_edit`, the state table in `order_states`,
numbering in `order_numbers`, lines in `order_lines`, input rules in `order_input`; this module
re-exports them so callers import one name: `from services import orders`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from orderdesk.config import fields as custom_fields
from orderdesk.core.errors import NotFound, PermissionDenied, ValidationFailed
from orderdesk.directory.permissions import can_manage, require_role
from orderdesk.models import Activity, Attachment, Customer, Order, OrderType, Staff
from orderdesk.models.staff import MANAGING_ROLES
from orderdesk.orders import timeline
from orderdesk.orders.edit import update_order
from orderdesk.orders.inputs import (
    CREATE_KEYS,
    CREATOR_ROLES,
    MAX_PROGRESS_CHARS,
    find_staff,
    lookup,
    parse_discount,
    raise_if,
    reject_unknown,
    set_amount,
)
from orderdesk.orders.lines import build_lines, line_amount, lines_total, list_price_discount
from orderdesk.orders.messages import notify_created, notify_progress
from orderdesk.orders.numbers import insert_with_number
from orderdesk.orders.queries import (
    get_order,
    list_orders,
    my_orders,
    order_counts,
    search_orders,
    suggest,
)
from orderdesk.orders.refs import resolve_refs
from orderdesk.orders.states import (
    MANAGER,
    TRANSITIONS,
    USER,
    allowed_from,
    apply_status,
    check,
    describe_allowed,
    parse_status,
)

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
    "my_orders",
    "order_counts",
    "search_orders",
    "suggest",
    "transition",
    "update_order",
]


def create_order(session: Session, *, actor: Staff, data: Mapping[str, Any]) -> Order:
    """A new draft order from `data` (see CREATE_KEYS); every problem reported at once. Every
    id in `data` is looked up within the actor's scope (orders.refs)."""
    require_role(actor, *CREATOR_ROLES)
    reject_unknown(data, CREATE_KEYS)
    errors: dict[str, str] = {}
    order_type = _order_type(session, data, errors)
    refs = resolve_refs(session, actor=actor, data=data, errors=errors)
    if refs.customer is None and "customer" not in errors:
        errors["customer"] = "请选择客户"
    owner = _owner(session, actor, data, errors)
    lines = build_lines(
        session,
        data.get("lines") or [],
        default_billing=order_type.default_billing_method if order_type else "fixed",
        errors=errors,
    )
    order = _draft(session, order_type, refs.customer, data, errors)
    override_note = set_amount(order, data, errors, derived=lines_total(lines))
    raise_if(errors)
    assert order_type is not None and refs.customer is not None
    order.order_type_id = order_type.id
    order.customer_id = refs.customer.id
    order.contract_id = refs.contract.id if refs.contract else None
    order.owner_id = owner.id
    line = refs.business_line
    order.business_line_id = line.id if line else order_type.business_line_id
    order.updated_by_id = actor.id
    order.lines = lines
    if order.discount_rate is None:
        order.discount_rate = list_price_discount(session, lines)
    insert_with_number(session, order)
    _record_created(session, order, actor=actor, owner=owner, override_note=override_note)
    notify_created(session, order, actor=actor)
    return order


def _order_type(session: Session, data: Mapping[str, Any], errors: dict[str, str]) -> Any:
    order_type = lookup(
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
    return order_type


def _owner(
    session: Session, actor: Staff, data: Mapping[str, Any], errors: dict[str, str]
) -> Staff:
    if not data.get("owner_userid") or data["owner_userid"] == actor.userid:
        return actor
    if not actor.has_role(*MANAGING_ROLES):
        errors["owner_userid"] = "只有经理可以为他人创建订单"
        return actor
    return find_staff(session, data["owner_userid"], errors) or actor


def _draft(
    session: Session,
    order_type: OrderType | None,
    customer: Customer | None,
    data: Mapping[str, Any],
    errors: dict[str, str],
) -> Order:
    """The new order's own fields (title, currency, custom fields, discount), not yet added."""
    title = str(data.get("title") or "").strip()
    if len(title) > 200:
        errors["title"] = "标题最多 200 个字"
    currency = str(data.get("currency") or "CNY").strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        errors["currency"] = "币种须为三位字母代码,如 CNY"
    cleaned: dict[str, Any] = {}
    if order_type is not None:
        try:
            cleaned = custom_fields.validate_values(
                order_type.field_schema or [], data.get("custom_fields"), session=session
            )
        except ValidationFailed as exc:
            errors.update({f"custom_fields.{k}": v for k, v in exc.fields.items()})
    discount = parse_discount(data["discount_rate"], errors) if data.get("discount_rate") else None
    return Order(
        title=title or (f"{customer.name} {order_type.name}" if customer and order_type else ""),
        status="draft",
        currency=currency,
        custom_fields=cleaned,
        amount_overridden=False,
        discount_rate=discount,
        version=1,
    )


def _record_created(
    session: Session, order: Order, *, actor: Staff, owner: Staff, override_note: str | None
) -> None:
    timeline.record(
        session,
        kind="created",
        actor=actor,
        body=f"创建订单 {order.number}:{order.title},金额 {order.amount}",
        plain=f"创建订单 {order.number}:{order.title}",
        order=order,
        data={"amount": str(order.amount), "lines": len(order.lines), "owner": owner.userid},
    )
    if override_note:
        timeline.record(
            session,
            kind="updated",
            actor=actor,
            body=override_note,
            order=order,
            data={"override": True, "reason": order.override_reason},
            plain=f"手工调整了订单金额,原因:{order.override_reason}",
        )


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
    who = MANAGER if actor.has_role(*MANAGING_ROLES) else USER
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
