"""Attachments people may read: the files of an order, of a project and of a contract, and one
file for download. The scope is the thing the file hangs on (out of scope reads like a file
that does not exist); contract files follow the contract's money rule (prices are in them).

Contract files are uploaded here too (`attach_to_contract`), with a timeline entry that names
them, so the timeline links every file to where it came from."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from orderdesk.core.errors import NotFound, ValidationFailed
from orderdesk.directory.customers import may_see_contract_money
from orderdesk.directory.permissions import can_see_order
from orderdesk.models import Attachment, Project, Staff
from orderdesk.money.contracts import editable_contract, get_contract
from orderdesk.orders import timeline
from orderdesk.orders.attachments import Upload, discard_files, store_files
from orderdesk.orders.lookups import get_project
from orderdesk.orders.queries import get_order
from orderdesk.projects.service import members
from orderdesk.settings import Settings

MISSING = "找不到附件"


def _listed(session: Session, *clauses: ColumnElement[bool]) -> list[Attachment]:
    stmt = select(Attachment).where(or_(*clauses)).order_by(Attachment.id)
    return list(session.scalars(stmt))


def order_files(session: Session, *, actor: Staff, number: str) -> list[Attachment]:
    """The order's files and its project's (progress photos, documents), oldest first."""
    order = get_order(session, actor=actor, number=number)
    clauses = [Attachment.order_id == order.id]
    if order.project is not None:
        clauses.append(Attachment.project_id == order.project.id)
    return _listed(session, *clauses)


def project_files(session: Session, *, actor: Staff, code: str) -> list[Attachment]:
    project = get_project(session, actor=actor, code=code)
    return _listed(
        session, Attachment.project_id == project.id, Attachment.order_id == project.order_id
    )


def contract_files(session: Session, *, actor: Staff, contract_id: int) -> list[Attachment]:
    contract = get_contract(session, actor=actor, contract_id=contract_id)
    if not may_see_contract_money(actor, contract):
        raise NotFound(MISSING)
    return _listed(session, Attachment.contract_id == contract.id)


def readable_file(session: Session, *, actor: Staff, attachment_id: int) -> Attachment:
    """One attachment the actor may read (download), else NotFound."""
    found = session.get(Attachment, attachment_id)
    if found is None or not _may_read(session, actor, found):
        raise NotFound(MISSING)
    return found


def _may_read(session: Session, actor: Staff, att: Attachment) -> bool:
    if att.order is not None:
        project = att.order.project
        return can_see_order(actor, att.order) or (
            project is not None and actor in members(project)
        )
    project = session.get(Project, att.project_id) if att.project_id is not None else None
    if project is not None:
        return can_see_order(actor, project.order) or actor in members(project)
    if att.contract is not None:
        try:
            contract = get_contract(session, actor=actor, contract_id=att.contract.id)
        except NotFound:
            return False
        return may_see_contract_money(actor, contract)
    return att.uploader_id == actor.id


def attach_to_contract(
    session: Session,
    *,
    rt_settings: Settings,
    actor: Staff,
    contract_id: int,
    uploads: Sequence[Upload],
) -> list[Attachment]:
    """Store files on a contract (those who may change it: owner, managers, finance, gm)."""
    contract = editable_contract(session, actor=actor, contract_id=contract_id)
    if not uploads:
        raise ValidationFailed("请选择要上传的文件", fields={"files": "必填"})
    stored, created = store_files(session, rt_settings=rt_settings, actor=actor, uploads=uploads)
    try:
        for att in stored:
            att.contract_id = contract.id
        session.flush()
        entry = timeline.record(
            session,
            kind="contract",
            actor=actor,
            body=f"上传合同 {contract.number} 附件:" + "、".join(a.name for a in stored),
            order=contract.orders[0] if contract.orders else None,
            customer_id=contract.customer_id,
            data={"contract": contract.number, "files": [a.name for a in stored]},
        )
        for att in stored:
            att.activity = entry
        session.flush()
    except BaseException:
        discard_files(created)  # refused after writing: leave no file without its row
        raise
    return stored
