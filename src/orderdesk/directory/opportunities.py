"""Opportunities: the sales pipeline 线索 → 需求确认 → 方案报价 → 商务谈判 → 赢单 / 输单.

They live beside customers because their scope is the customer owner's: sales see their own,
managers their team's, finance / gm / admin all. Winning one drafts a contract prefilled from
it (customer, title, expected amount) for the salesperson to complete and sign.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.core.errors import Conflict, IllegalTransition, NotFound, ValidationFailed
from orderdesk.core.parsing import parse_day, parse_decimal
from orderdesk.directory.customers import customer_scope
from orderdesk.directory.permissions import SEE_ALL_ROLES, require_role, team_of
from orderdesk.models import BusinessLine, Contract, Customer, Opportunity, Staff
from orderdesk.models.customer import OPPORTUNITY_STAGES
from orderdesk.orders.timeline import record

STAGE_ZH = {
    "lead": "线索",
    "qualified": "需求确认",
    "proposal": "方案报价",
    "negotiation": "商务谈判",
    "won": "赢单",
    "lost": "输单",
}
CLOSED = ("won", "lost")
CREATE_ROLES = ("sales", "manager", "gm", "admin")
MAX_LIST = 200
CENT = Decimal("0.01")


def opportunity_scope(actor: Staff) -> ColumnElement[bool]:
    if actor.active and actor.has_role(*SEE_ALL_ROLES):
        return true()
    clauses = [Opportunity.owner_id == actor.id]
    if actor.active and actor.has_role("manager"):
        clauses.append(Opportunity.owner_id.in_(team_of(actor)))
    return or_(*clauses)


def stage_code(raw: Any) -> str:
    """A stage from its code or its Chinese name."""
    text = str(raw or "").strip()
    by_zh = {zh: code for code, zh in STAGE_ZH.items()}
    code = by_zh.get(text, text)
    if code not in OPPORTUNITY_STAGES:
        names = " / ".join(STAGE_ZH.values())
        raise ValidationFailed(f"未知阶段 {text},可选:{names}", fields={"stage": "unknown"})
    return code


def _clean(data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "title" in data or not partial:
        title = str(data.get("title") or "").strip()
        if not title or len(title) > 200:
            raise ValidationFailed("商机名称不能为空且不超过 200 字", fields={"title": "invalid"})
        out["title"] = title
    if "expected_amount" in data:
        amount = parse_decimal(data["expected_amount"])
        if amount is None or amount < 0:
            raise ValidationFailed("预计金额无效", fields={"expected_amount": "invalid"})
        out["expected_amount"] = amount
    if "expected_close_date" in data:
        raw = data["expected_close_date"]
        day = None if raw is None else parse_day(raw)
        if raw is not None and day is None:
            raise ValidationFailed("预计成交日期无效", fields={"expected_close_date": "invalid"})
        out["expected_close_date"] = day
    return out


def get_opportunity(session: Session, *, actor: Staff, opportunity_id: int) -> Opportunity:
    found = session.scalar(
        select(Opportunity).where(Opportunity.id == opportunity_id, opportunity_scope(actor))
    )
    if found is None:
        raise NotFound("未找到该商机")
    return found


def create_opportunity(session: Session, *, actor: Staff, data: dict[str, Any]) -> Opportunity:
    """A new opportunity at 线索 (or the given stage short of closed), owned by `actor`."""
    require_role(actor, *CREATE_ROLES)
    customer = session.scalar(
        select(Customer).where(Customer.id == data.get("customer_id"), customer_scope(actor))
    )
    if customer is None or customer.archived_at is not None:
        raise NotFound("未找到该客户")
    fields = _clean(data, partial=False)
    stage = stage_code(data.get("stage") or "lead")
    if stage in CLOSED:
        raise ValidationFailed("新商机不能直接赢单或输单", fields={"stage": "closed"})
    line_id = None
    if data.get("business_line"):
        line_id = session.scalar(
            select(BusinessLine.id).where(BusinessLine.code == data["business_line"])
        )
        if line_id is None:
            raise ValidationFailed("未知业务线", fields={"business_line": "unknown"})
    opp = Opportunity(
        customer_id=customer.id, owner_id=actor.id, stage=stage, business_line_id=line_id, **fields
    )
    session.add(opp)
    session.flush()
    record(
        session,
        kind="opportunity",
        actor=actor,
        body=f"新建商机 {opp.title}({STAGE_ZH[stage]})",
        customer_id=customer.id,
    )
    return opp


def update_opportunity(
    session: Session, *, actor: Staff, opportunity_id: int, data: dict[str, Any]
) -> Opportunity:
    opp = get_opportunity(session, actor=actor, opportunity_id=opportunity_id)
    if opp.stage in CLOSED:
        raise IllegalTransition(f"商机已{STAGE_ZH[opp.stage]},不能再修改")
    for key, value in _clean(data, partial=True).items():
        setattr(opp, key, value)
    session.flush()
    return opp


def move_stage(
    session: Session,
    *,
    actor: Staff,
    opportunity_id: int,
    stage: str,
    reason: str | None = None,
) -> Opportunity:
    """Move between open stages freely; 赢单 drafts a contract; 输单 needs a reason. Closed
    opportunities stay closed."""
    opp = get_opportunity(session, actor=actor, opportunity_id=opportunity_id)
    target = stage_code(stage)
    if opp.stage in CLOSED:
        raise IllegalTransition(f"商机已{STAGE_ZH[opp.stage]},不能再变更阶段")
    reason = (reason or "").strip() or None
    if target == "lost" and reason is None:
        raise ValidationFailed("输单请写明原因", fields={"reason": "required"})
    before = opp.stage
    opp.stage = target
    opp.close_reason = reason if target in CLOSED else None
    said = f"商机 {opp.title}:{STAGE_ZH[before]} → {STAGE_ZH[target]}"
    if target == "won":
        contract = draft_contract(session, opp)
        said += f",已生成合同草稿 {contract.number}"
    record(
        session,
        kind="opportunity",
        actor=actor,
        body=said + (f"(原因:{reason})" if reason else ""),
        customer_id=opp.customer_id,
    )
    session.flush()
    return opp


def draft_contract(session: Session, opp: Opportunity) -> Contract:
    """A draft contract prefilled from a won opportunity."""
    contract = Contract(
        customer_id=opp.customer_id,
        opportunity_id=opp.id,
        business_line_id=opp.business_line_id,
        title=opp.title,
        amount=opp.expected_amount or Decimal("0.00"),
        status="draft",
        payment_terms=[],
    )
    return add_numbered_contract(session, contract)


def add_numbered_contract(session: Session, contract: Contract) -> Contract:
    """Give `contract` the next number HT-YYYY-NNNN and insert it, retried on a parallel
    collision like order numbers (the unique index decides who wins)."""
    year = clock.today(clock.company_tz(session)).year
    prefix = f"HT-{year}-"
    for _ in range(25):
        last = session.scalar(
            select(Contract.number)
            .where(Contract.number.like(f"{prefix}%"))
            .order_by(func.length(Contract.number).desc(), Contract.number.desc())
            .limit(1)
        )
        seq = int(last[len(prefix) :]) + 1 if last and last[len(prefix) :].isdigit() else 1
        contract.number = f"{prefix}{seq:04d}"
        try:
            with session.begin_nested():
                session.add(contract)
                session.flush()
            return contract
        except IntegrityError:
            continue  # the savepoint's rollback expunged the pending row; try the next number
    raise Conflict("合同编号生成冲突,请重试")


@dataclass
class StageColumn:
    stage: str
    count: int
    expected_total: Decimal
    items: list[Opportunity]


def pipeline(
    session: Session, *, actor: Staff, stage: str | None = None, limit: int = 50
) -> list[StageColumn]:
    """Opportunities in scope by stage (pipeline order), newest first within a stage."""
    stages = [stage_code(stage)] if stage else list(OPPORTUNITY_STAGES)
    columns = []
    for code in stages:
        where = (opportunity_scope(actor), Opportunity.stage == code)
        count, total = session.execute(
            select(func.count(Opportunity.id), func.sum(Opportunity.expected_amount)).where(*where)
        ).one()
        items = session.scalars(
            select(Opportunity)
            .where(*where)
            .order_by(Opportunity.id.desc())
            .limit(max(1, min(limit, MAX_LIST)))
        ).all()
        columns.append(
            StageColumn(code, int(count), Decimal(total or 0).quantize(CENT), list(items))
        )
    return columns
