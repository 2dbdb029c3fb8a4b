"""What happens when an order's last approval step approves (订单流程自动化).

Runs inside the approving transaction. Every piece is idempotent on its own key, so running it
twice (a retried job, a replayed event) creates nothing twice: one project per order, one plan
per contract, one chat binding per project, one outbox row per message key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.approvals import messages as notify
from orderdesk.core.formatting import money
from orderdesk.directory.staff import staff_with_role
from orderdesk.models import ChatBinding, Order, PaymentPlan, Project, Staff
from orderdesk.money.plans import generate_plan
from orderdesk.orders import timeline
from orderdesk.projects import service as projects
from orderdesk.wecom import cards, outbox

log = logging.getLogger(__name__)


@dataclass
class AutomationResult:
    project: Project
    plan: PaymentPlan | None
    chat: ChatBinding | None


def _bind_project_chat(
    session: Session, order: Order, project: Project, actor: Staff | None
) -> ChatBinding | None:
    """Create (via outbox) and bind the internal project group; None when fewer than two people
    would be in it (appchat/create needs 2..2000 members)."""
    binding = session.scalar(
        select(ChatBinding).where(
            ChatBinding.kind == "appchat", ChatBinding.project_id == project.id
        )
    )
    if binding is not None:
        return binding
    people = [project.pm, order.owner, order.customer.owner, *projects.members(project)]
    userids = notify.recipients(people).split("|")
    userids = [u for u in userids if u]
    if len(userids) < 2:
        log.info("project %s: fewer than two members, no group chat", project.code)
        return None
    chat_id = notify.project_chat_id(project)
    owner = (project.pm or order.owner).userid
    name = cards.truncate_bytes(f"{project.code} {order.customer.name}", 150)
    outbox.add(
        session,
        key=f"appchat-create:{project.id}",
        channel="appchat_create",
        recipient=chat_id,
        payload={"name": name, "owner": owner, "userlist": userids, "chatid": chat_id},
        order_id=order.id,
    )
    binding = ChatBinding(
        kind="appchat",
        chat_id=chat_id,
        name=name,
        customer_id=order.customer_id,
        order_id=order.id,
        project_id=project.id,
        audience="internal",
        bound_by_id=actor.id if actor else None,
        active=True,
    )
    session.add(binding)
    welcome = cards.app_text(notify.order_summary(order, project))
    outbox.add(
        session,
        key=f"appchat-welcome:{project.id}",
        channel="appchat",
        recipient=chat_id,
        payload={"chatid": chat_id, **welcome},
        order_id=order.id,
        after=f"appchat-create:{project.id}",  # the group must exist before it is spoken to
    )
    timeline.record(
        session,
        kind="binding",
        actor=actor,
        body=f"已创建项目群「{name}」({len(userids)} 人)",
        order=order,
        project=project,
        data={"chat_id": chat_id, "members": userids},
    )
    return binding


def _notify_people(
    session: Session, order: Order, project: Project, plan: PaymentPlan | None
) -> None:
    finance = staff_with_role(session, "finance")
    text = (
        f"【订单已批准】{order.number} {order.customer.name} {money(order.amount)}\n"
        f"已创建项目 {project.code},项目经理:{project.pm.name if project.pm else '待定'}"
    )
    if plan is not None:
        text += f"\n付款计划:{len(plan.installments)} 期,合计 {money(plan.total)}"
    notify.app_text(
        session,
        key=f"order-approved:{order.id}",
        to=[order.owner, project.pm, *finance],
        text=text,
        order_id=order.id,
    )


def on_order_approved(session: Session, *, order: Order, actor: Staff | None) -> AutomationResult:
    """Project from the template, payment plan from the contract, project chat, notices."""
    project = projects.create_from_order(session, order)
    plan = None
    if order.contract is not None:
        plan = generate_plan(session, contract=order.contract, order=order)
    chat = _bind_project_chat(session, order, project, actor)
    _notify_people(session, order, project, plan)
    session.flush()
    return AutomationResult(project=project, plan=plan, chat=chat)
