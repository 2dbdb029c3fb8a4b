"""What each export kind contains: a Chinese header and a row query over one period.

Exports are finance's: finance, gm and admin (who see every order and every amount). Periods are
inclusive company-calendar days [date_from, date_to].
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from orderdesk.models import (
    BusinessLine,
    Contract,
    Customer,
    Installment,
    Invoice,
    Order,
    PaymentPlan,
    Project,
    Receipt,
    Staff,
    TimeEntry,
)

BATCH = 5000  # rows fetched per round trip; memory stays flat however long the period


@dataclass(frozen=True)
class Dataset:
    header: Sequence[str]
    rows: Iterator[Sequence[Any]]


def _stream(session: Session, stmt: Select[Any]) -> Iterator[Sequence[Any]]:
    for row in session.execute(stmt.execution_options(yield_per=BATCH)):
        yield tuple(row)


def orders(session: Session, date_from: date, date_to: date) -> Dataset:
    """Orders whose contract was signed in the period (the business date bookings count on)."""
    stmt = (
        select(
            Order.number,
            Order.title,
            Customer.name,
            Staff.name,
            BusinessLine.name,
            Order.status,
            Order.amount,
            Order.currency,
            Contract.number,
            Contract.signed_date,
        )
        .join(Customer, Customer.id == Order.customer_id)
        .join(Staff, Staff.id == Order.owner_id)
        .outerjoin(BusinessLine, BusinessLine.id == Order.business_line_id)
        .outerjoin(Contract, Contract.id == Order.contract_id)
        .where(Contract.signed_date >= date_from, Contract.signed_date <= date_to)
        .order_by(Order.id)
    )
    header = ("订单编号", "订单名称", "客户", "负责人", "业务线", "状态", "金额", "币种")
    return Dataset((*header, "合同编号", "签约日期"), _stream(session, stmt))


def receipts(session: Session, date_from: date, date_to: date) -> Dataset:
    stmt = (
        select(
            Receipt.number,
            Receipt.received_on,
            Customer.name,
            Contract.number,
            Receipt.amount,
            Receipt.credit_amount,
            Receipt.method,
            Receipt.note,
        )
        .join(Customer, Customer.id == Receipt.customer_id)
        .outerjoin(Contract, Contract.id == Receipt.contract_id)
        .where(
            Receipt.reversed_at.is_(None),
            Receipt.received_on >= date_from,
            Receipt.received_on <= date_to,
        )
        .order_by(Receipt.received_on, Receipt.id)
    )
    header = ("回款流水号", "到账日期", "客户", "合同编号", "金额", "转为预收", "方式", "备注")
    return Dataset(header, _stream(session, stmt))


def invoice_rows(date_from: date, date_to: date) -> Select[Any]:
    """Issued invoices of the period with their order, customer and tax rate (journal too)."""
    return (
        select(
            Invoice.number,
            Invoice.issue_date,
            Customer.name,
            Order.number,
            Invoice.amount,
            Invoice.tax_rate,
        )
        .join(Installment, Installment.id == Invoice.installment_id)
        .join(PaymentPlan, PaymentPlan.id == Installment.plan_id)
        .join(Order, Order.id == PaymentPlan.order_id)
        .join(Customer, Customer.id == Order.customer_id)
        .where(
            Invoice.status == "issued",
            Invoice.issue_date >= date_from,
            Invoice.issue_date <= date_to,
        )
        .order_by(Invoice.issue_date, Invoice.id)
    )


def invoices(session: Session, date_from: date, date_to: date) -> Dataset:
    header = ("发票号", "开票日期", "客户", "订单编号", "价税合计", "税率")
    return Dataset(header, _stream(session, invoice_rows(date_from, date_to)))


def timesheets(session: Session, date_from: date, date_to: date) -> Dataset:
    """Hour entries of the period (issue 13): who, which project and order, how long."""
    stmt = (
        select(
            TimeEntry.work_date,
            Staff.userid,
            Staff.name,
            Project.code,
            Order.number,
            Customer.name,
            TimeEntry.hours,
            TimeEntry.billable,
            TimeEntry.note,
        )
        .join(Staff, Staff.id == TimeEntry.staff_id)
        .join(Project, Project.id == TimeEntry.project_id)
        .join(Order, Order.id == Project.order_id)
        .join(Customer, Customer.id == Order.customer_id)
        .where(TimeEntry.work_date >= date_from, TimeEntry.work_date <= date_to)
        .order_by(TimeEntry.work_date, TimeEntry.id)
    )
    header = ("日期", "员工账号", "员工", "项目编号", "订单编号", "客户", "工时", "计费", "内容")
    rows = ((*r[:7], "是" if r[7] else "否", r[8]) for r in _stream(session, stmt))
    return Dataset(header, rows)
