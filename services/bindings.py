"""Binding a group chat to an order or a customer, so pushes about it go to that group.

A binding is one ChatBinding row per (kind, chat_id); binding again re-points the same row.
Only someone who may see the order (or one of the customer's orders, or who owns the customer)
may bind or unbind; every change is on the timeline.
"""

from __future__ import annotations

import re

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from models import ChatBinding, Customer, Order, Staff
from services import timeline
from services.errors import NotFound, ValidationFailed

BOT_GROUP = "bot_group"
AUDIENCE_ZH = {"internal": "内部群", "client": "客户群"}
_ORDER_NUMBER = re.compile(r"^SO-\d{4}-\d{1,6}$", re.IGNORECASE)


def _customer_in_reach(session: Session, actor: Staff, ref: str) -> Customer:
    from services.permissions import SEE_ALL_ROLES, order_scope

    name = ref.strip()
    candidates = list(
        session.scalars(
            select(Customer)
            .where(or_(Customer.name == name, Customer.short_name == name))
            .order_by(Customer.id)
            .limit(2)
        )
    )
    if not candidates:
        candidates = list(
            session.scalars(
                select(Customer).where(Customer.name.contains(name)).order_by(Customer.id).limit(6)
            )
        )
    if not candidates:
        raise NotFound(f"没有找到客户「{name}」")
    if len(candidates) > 1:
        names = "、".join(c.name for c in candidates[:5])
        raise ValidationFailed(f"「{name}」匹配到多个客户:{names},请写全称")
    customer = candidates[0]
    if actor.has_role(*SEE_ALL_ROLES) or customer.owner_id == actor.id:
        return customer
    visible = session.scalar(
        select(func.count(Order.id)).where(Order.customer_id == customer.id, order_scope(actor))
    )
    if not visible:
        raise NotFound(f"没有找到客户「{name}」")
    return customer


def bind_chat(
    session: Session,
    *,
    actor: Staff,
    chat_id: str,
    ref: str,
    audience: str = "internal",
    name: str | None = None,
) -> ChatBinding:
    """Bind group `chat_id` to order number or customer name `ref` (idempotent)."""
    from services.orders import get_order

    if not chat_id:
        raise ValidationFailed("只能在群聊中绑定")
    if audience not in AUDIENCE_ZH:
        raise ValidationFailed("群类型只能是内部群或客户群")
    if not ref.strip():
        raise ValidationFailed("请写上订单号或客户名称")
    order: Order | None = None
    if _ORDER_NUMBER.match(ref.strip()):
        order = get_order(session, actor=actor, number=ref.strip())
        customer_id = order.customer_id
    else:
        customer_id = _customer_in_reach(session, actor, ref).id
    binding = session.scalar(
        select(ChatBinding).where(ChatBinding.kind == BOT_GROUP, ChatBinding.chat_id == chat_id)
    )
    if binding is None:
        binding = ChatBinding(kind=BOT_GROUP, chat_id=chat_id)
        session.add(binding)
    binding.customer_id = customer_id
    binding.order_id = order.id if order else None
    binding.project_id = order.project.id if order is not None and order.project else None
    binding.audience = audience
    binding.bound_by_id = actor.id
    binding.active = True
    if name:
        binding.name = name[:128]
    session.flush()
    target = order.number if order else ref.strip()
    timeline.record(
        session,
        kind="binding",
        actor=actor,
        body=f"{actor.name} 将群聊绑定到 {target}({AUDIENCE_ZH[audience]})",
        order=order,
        customer_id=customer_id,
        data={"chat_id": chat_id, "audience": audience},
    )
    return binding


def unbind_chat(session: Session, *, actor: Staff, chat_id: str) -> ChatBinding:
    """Stop pushing to this group. Only someone who could bind it again may unbind it."""
    from services.permissions import SEE_ALL_ROLES, can_see_order

    binding = session.scalar(
        select(ChatBinding).where(
            ChatBinding.kind == BOT_GROUP,
            ChatBinding.chat_id == chat_id,
            ChatBinding.active.is_(True),
        )
    )
    if binding is None:
        raise NotFound("这个群还没有绑定订单或客户")
    order = session.get(Order, binding.order_id) if binding.order_id else None
    if order is not None:
        allowed = can_see_order(actor, order)
    else:
        customer = session.get(Customer, binding.customer_id) if binding.customer_id else None
        allowed = actor.has_role(*SEE_ALL_ROLES) or binding.bound_by_id == actor.id
        if not allowed and customer is not None:
            try:
                _customer_in_reach(session, actor, customer.name)
                allowed = True
            except NotFound:
                allowed = False
    if not allowed:
        raise NotFound("这个群还没有绑定订单或客户")
    binding.active = False
    timeline.record(
        session,
        kind="binding",
        actor=actor,
        body=f"{actor.name} 解除了群聊绑定",
        order=order,
        customer_id=binding.customer_id,
        data={"chat_id": chat_id, "unbound": True},
    )
    return binding
