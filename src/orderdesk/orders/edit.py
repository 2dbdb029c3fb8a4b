"""Editing an order: field changes guarded by the version the editor saw."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from orderdesk.config import fields as custom_fields
from orderdesk.core.errors import Conflict, PermissionDenied, ValidationFailed
from orderdesk.directory.permissions import can_manage
from orderdesk.models import Order, Staff
from orderdesk.models.staff import MANAGING_ROLES
from orderdesk.orders import edit_diffs as changes_text
from orderdesk.orders import timeline
from orderdesk.orders.common import conflict_message, flush_or_conflict, stale_as_conflict
from orderdesk.orders.inputs import (
    FINAL_STATES,
    UPDATE_KEYS,
    find_staff,
    frozen_changes,
    parse_discount,
    raise_if,
    reject_unknown,
    set_amount,
)
from orderdesk.orders.lines import build_lines, lines_total, list_price_discount
from orderdesk.orders.messages import notify_update
from orderdesk.orders.queries import get_order
from orderdesk.orders.refs import resolve_refs


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
    _check_editable(order, actor=actor, changes=changes, expected_version=expected_version)
    errors: dict[str, str] = {}
    diff: dict[str, list[Any]] = {}
    # No autoflush while collecting: a look-up must not write a half-edited order.
    with session.no_autoflush:
        put = _recorder(order, diff)
        _edit_fields(session, order, actor=actor, changes=changes, errors=errors, put=put)
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
        override_note = set_amount(order, changes, errors, derived=derived)
        if errors:
            session.expire(order)  # bad input changes nothing, even in this session
        raise_if(errors)
    # Any flush from here on (autoflush included) may find the row changed by someone else.
    with stale_as_conflict(session, order):
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
        body, plain = changes_text.describe(session, order, diff)
        timeline.record(
            session,
            kind="updated",
            actor=actor,
            body=";".join(filter(None, [body if diff else None, override_note])),
            order=order,
            data={"changes": diff, "override_reason": order.override_reason},
            plain=plain if diff else "修改了金额",
        )
        notify_update(session, order, actor=actor, summary=override_note or summary)
    return order


def _check_editable(
    order: Order, *, actor: Staff, changes: Mapping[str, Any], expected_version: int | None
) -> None:
    """Refuse the edit before anything is read from `changes`: stale version, no right to
    manage, a final state, unknown keys, or fields frozen by the order's status."""
    if expected_version is not None and order.version != expected_version:
        raise_conflict(order)
    if not can_manage(actor, order):
        raise PermissionDenied("只有订单负责人、项目经理或经理可以修改订单")
    if order.status in FINAL_STATES:
        raise ValidationFailed(f"订单{order.status_zh},不能再修改")
    reject_unknown(changes, UPDATE_KEYS)
    frozen = frozen_changes(order, changes)
    if frozen:
        raise ValidationFailed(
            f"订单{order.status_zh},客户、合同、明细、金额和已提交的内容不能再修改",
            fields=frozen,
        )


def _recorder(order: Order, diff: dict[str, list[Any]]) -> Callable[[str, Any], None]:
    """`put(field, new)`: set the field and note [old, new] in `diff` when it really changes."""

    def put(field: str, new: Any) -> None:
        old = getattr(order, field)
        if old != new:
            diff[field] = [_fmt(old), _fmt(new)]
            setattr(order, field, new)

    return put


def _edit_fields(
    session: Session,
    order: Order,
    *,
    actor: Staff,
    changes: Mapping[str, Any],
    errors: dict[str, str],
    put: Callable[[str, Any], None],
) -> None:
    """The plain fields (title, custom fields, owner, references, currency, discount); each bad
    value lands in `errors` so the editor sees all of them at once."""
    if "title" in changes:
        title = str(changes["title"] or "").strip()
        if not title or len(title) > 200:
            errors["title"] = "标题不能为空,最多 200 个字"
        else:
            put("title", title)
    if "custom_fields" in changes:
        _edit_custom_fields(session, order, changes["custom_fields"], errors=errors, put=put)
    if changes.get("owner_userid"):
        if not actor.has_role(*MANAGING_ROLES):
            errors["owner_userid"] = "只有经理可以转交订单"
        else:
            owner = find_staff(session, changes["owner_userid"], errors)
            if owner is not None:
                put("owner_id", owner.id)
    refs = resolve_refs(session, actor=actor, data=changes, errors=errors, order=order)
    for found, attr in (
        (refs.customer, "customer_id"),
        (refs.contract, "contract_id"),
        (refs.business_line, "business_line_id"),
    ):
        if found is not None:
            put(attr, found.id)
    if changes.get("currency"):
        put("currency", str(changes["currency"]).strip().upper()[:3])
    if "discount_rate" in changes:
        discount = parse_discount(changes["discount_rate"], errors)
        if discount is not None:
            put("discount_rate", discount)


def _edit_custom_fields(
    session: Session,
    order: Order,
    values: Any,
    *,
    errors: dict[str, str],
    put: Callable[[str, Any], None],
) -> None:
    if not isinstance(values, Mapping):
        errors["custom_fields"] = "自定义字段格式错误"
        return
    try:
        merged = custom_fields.merge_values(
            order.order_type.field_schema or [], order.custom_fields, values, session=session
        )
        put("custom_fields", merged)
    except ValidationFailed as exc:
        errors.update({f"custom_fields.{k}": v for k, v in exc.fields.items()})


_FIELD_NAMES_ZH = {**changes_text.NAMES_ZH, "custom_fields": "自定义字段"}


def raise_conflict(order: Order) -> None:
    editor = order.updated_by.name if order.updated_by is not None else None
    raise Conflict(conflict_message(editor))
