"""Binding a group chat to an order or a customer, so pushes about it go to that group.

A binding is one ChatBinding row per (kind, chat_id); binding again re-points the same row.
Only someone who may see the order (or one of the customer's orders, or who owns the customer)
may bind or unbind; every change is on the timeline. A bot_group binding can only be pushed to
through the group robot it registered (`orders.robots`, `wecom.group_targets`).
"""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from orderdesk.core.errors import NotFound, PermissionDenied, ValidationFailed
from orderdesk.directory.permissions import SEE_ALL_ROLES, can_see_order, order_scope, owns_or_leads
from orderdesk.models import Activity, ChatBinding, Customer, Order, Project, Staff
from orderdesk.orders import timeline
from orderdesk.orders.numbers import normalize_number
from orderdesk.wecom import cards, outbox
from orderdesk.wecom.group_targets import BOT_GROUP, push_target

AUDIENCE_ZH = {"internal": "内部群", "client": "客户群"}


def _customer_in_reach(session: Session, actor: Staff, ref: str) -> Customer:
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
    from orderdesk.orders.service import get_order  # late: service -> messages -> bindings

    if not chat_id:
        raise ValidationFailed("只能在群聊中绑定")
    if audience not in AUDIENCE_ZH:
        raise ValidationFailed("群类型只能是内部群或客户群")
    if not ref.strip():
        raise ValidationFailed("请写上订单号或客户名称")
    order: Order | None = None
    if normalize_number(ref.strip()):
        order = get_order(session, actor=actor, number=ref.strip())
        customer_id = order.customer_id
    else:
        customer_id = _customer_in_reach(session, actor, ref).id
    binding = session.scalar(
        select(ChatBinding).where(ChatBinding.kind == BOT_GROUP, ChatBinding.chat_id == chat_id)
    )
    if binding is not None and binding.active:
        same = (binding.order_id, binding.customer_id, binding.audience) == (
            order.id if order else None,
            customer_id,
            audience,
        )
        if not same and not may_rebind(session, actor, binding):
            raise PermissionDenied("这个群已有绑定,只有当前订单的负责人、其经理或管理员可以改绑")
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


def may_rebind(session: Session, actor: Staff, binding: ChatBinding) -> bool:
    """Re-pointing a bound group: the current order's owner or one of their managers, or an
    admin; a customer-only binding: the customer's owner, their managers, or whoever bound it."""
    order = session.get(Order, binding.order_id) if binding.order_id else None
    if order is not None:
        return owns_or_leads(actor, order.owner)
    customer = session.get(Customer, binding.customer_id) if binding.customer_id else None
    owner = customer.owner if customer is not None else None
    return binding.bound_by_id == actor.id or owns_or_leads(actor, owner)


def group_binding(session: Session, chat_id: str | None) -> ChatBinding | None:
    """The active binding of a bot group chat (what the group may see and hear about)."""
    if not chat_id:
        return None
    return session.scalar(
        select(ChatBinding).where(
            ChatBinding.kind == BOT_GROUP,
            ChatBinding.chat_id == chat_id,
            ChatBinding.active.is_(True),
        )
    )


def binding_order(session: Session, binding: ChatBinding) -> Order | None:
    """The order a binding stands for: its own, or its project's (None for a customer group)."""
    order_id = binding.order_id
    if order_id is None and binding.project_id is not None:
        project = session.get(Project, binding.project_id)
        order_id = project.order_id if project is not None else None
    return session.get(Order, order_id) if order_id is not None else None


def unbind_chat(session: Session, *, actor: Staff, chat_id: str) -> ChatBinding:
    """Stop pushing to this group. Only someone who could bind it again may unbind it."""
    binding = group_binding(session, chat_id)
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


def bound_groups(session: Session, order: Order) -> list[ChatBinding]:
    """Active bindings about this order: the order itself, its project, or its customer."""
    about = [ChatBinding.order_id == order.id]
    if order.project is not None:
        about.append(ChatBinding.project_id == order.project.id)
    about.append(
        (ChatBinding.customer_id == order.customer_id)
        & ChatBinding.order_id.is_(None)
        & ChatBinding.project_id.is_(None)
    )
    return list(
        session.scalars(
            select(ChatBinding)
            .where(ChatBinding.active.is_(True), or_(*about))
            .order_by(ChatBinding.id)
        )
    )


def push_progress(session: Session, activity: Activity) -> int:
    """Queue a progress note to the order's bound groups that can receive pushes (an app group
    chat, a group robot, or a bot group with its robot registered); internal notes never go to a
    client group. Returns how many messages were queued (idempotent per group)."""
    if activity.order_id is None:
        return 0
    order = session.get(Order, activity.order_id)
    if order is None:
        return 0
    author = activity.actor.name if activity.actor else "系统"
    text = f"【{order.number} 进展】{author}:{activity.body}"
    queued = 0
    for binding in bound_groups(session, order):
        target = push_target(binding)
        if target is None or (activity.internal and binding.audience != "internal"):
            continue
        channel, recipient = target
        payload = cards.app_text(text) if channel == "appchat" else cards.webhook_text(text)
        outbox.add(
            session,
            key=f"progress-push:{activity.id}:{binding.id}",
            channel=channel,
            recipient=recipient,
            payload=payload,
            order_id=order.id,
        )
        queued += 1
    return queued
