"""Project expenses (报销 / 费用): what a project spent besides labour, with a receipt photo.

Who: the project's members and their managers (as for hours), and finance / gm / admin. For
anyone else the project does not exist (the same NotFound as a wrong reference). The photo is
stored like every attachment (orders.attachments, by content hash) and validated before any
row is written; images only.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.core.errors import ValidationFailed
from orderdesk.core.formatting import money
from orderdesk.core.parsing import parse_decimal
from orderdesk.models import Project, ProjectExpense, Staff
from orderdesk.orders import timeline
from orderdesk.orders.attachments import Upload, check_file, store_file
from orderdesk.projects.service import find_project
from orderdesk.settings import Settings

CATEGORIES = {
    "travel": "交通",
    "lodging": "住宿",
    "meals": "餐饮",
    "materials": "材料",
    "outsourcing": "外包",
    "other": "其他",
}
_ALIASES = {**{k: k for k in CATEGORIES}, **{v: k for k, v in CATEGORIES.items()}}
_ALIASES |= {"差旅": "travel", "打车": "travel", "酒店": "lodging", "餐费": "meals"}
FINANCE_ROLES = ("finance", "gm", "admin")
MAX_AMOUNT = Decimal("1000000")
PHOTO_TYPES = ("png", "jpg", "jpeg", "gif", "webp", "bmp", "pdf")


def category_code(raw: str) -> str:
    code = _ALIASES.get((raw or "").strip().lower()) or _ALIASES.get((raw or "").strip())
    if code is None:
        names = "、".join(CATEGORIES.values())
        raise ValidationFailed(
            f"费用类别「{raw[:10]}」无法识别,可选:{names}", fields={"category": names}
        )
    return code


def parse_amount(raw: Decimal | str | int) -> Decimal:
    if isinstance(raw, float):
        raise ValidationFailed("金额需为精确数值", fields={"amount": "格式错误"})
    amount = parse_decimal(raw)
    if amount is None or amount != amount.quantize(Decimal("0.01")):
        raise ValidationFailed(
            f"金额「{str(raw)[:20]}」不是有效金额(最多两位小数)", fields={"amount": "格式错误"}
        )
    if not Decimal(0) < amount <= MAX_AMOUNT:
        raise ValidationFailed("金额须大于 0 且不超过 1,000,000", fields={"amount": "超出范围"})
    return amount.quantize(Decimal("0.01"))


def expense_project(session: Session, *, actor: Staff, ref: str) -> Project:
    """The project `actor` may record expenses on (members, their managers, finance)."""
    if actor.active and actor.has_role(*FINANCE_ROLES):
        return find_project(session, ref)
    return find_project(session, ref, actor=actor)


def _check_photo(photo: Upload) -> None:
    safe, _ctype = check_file(photo.name, photo.content, photo.content_type)
    if safe.rsplit(".", 1)[-1].lower() not in PHOTO_TYPES:
        raise ValidationFailed("票据须为图片或 PDF", fields={"photo": "须为图片或 PDF"})


def record_expense(
    session: Session,
    *,
    actor: Staff,
    settings: Settings,
    ref: str,
    category: str,
    amount: Decimal | str | int,
    note: str | None = None,
    spent_on: date | None = None,
    photo: Upload | None = None,
) -> ProjectExpense:
    """Validate everything (the photo too) before writing; the caller commits."""
    code, value = category_code(category), parse_amount(amount)
    project = expense_project(session, actor=actor, ref=ref)
    today = clock.today(clock.company_tz(session))
    day = spent_on or today
    if day > today:
        raise ValidationFailed("费用日期不能晚于今天", fields={"spent_on": "不能晚于今天"})
    if photo is not None:
        _check_photo(photo)
    attachment = None
    if photo is not None:
        attachment = store_file(
            session,
            rt_settings=settings,
            actor=actor,
            name=photo.name,
            content=photo.content,
            content_type=photo.content_type,
            order_id=project.order_id,
            note=f"{project.code} 费用票据",
        )
    expense = ProjectExpense(
        project_id=project.id,
        category=code,
        amount=value,
        spent_on=day,
        note=(note or "").strip()[:500] or None,
        attachment=attachment,
        recorded_by_id=actor.id,
    )
    session.add(expense)
    timeline.record(
        session,
        kind="expense",
        actor=actor,
        project=project,
        body=f"{actor.name} 登记费用 {CATEGORIES[code]} {money(value)}({day})"
        + (f":{expense.note}" if expense.note else ""),
        data={"amount": str(value), "category": code, "spent_on": day.isoformat()},
    )
    session.flush()
    return expense


def list_expenses(
    session: Session, *, actor: Staff, ref: str
) -> tuple[Project, list[ProjectExpense]]:
    project = expense_project(session, actor=actor, ref=ref)
    rows = session.scalars(
        select(ProjectExpense)
        .where(ProjectExpense.project_id == project.id)
        .order_by(ProjectExpense.spent_on.desc(), ProjectExpense.id.desc())
    ).all()
    return project, list(rows)
