"""The accounting journal of a period, in the voucher-import layout of the common Chinese
accounting packages (one line per debit or credit; the lines of a voucher share its number):

- invoice issued: Dr 应收账款 (amount incl. tax), Cr 主营业务收入 (net), Cr 应交税费-销项税额 (tax);
- receipt (not reversed): Dr 银行存款, Cr 应收账款 (the whole receipt, credit included: money
  parked as customer credit is still owed back against receivables in the books).
Net = amount / (1 + rate) rounded to the cent; tax = amount - net, so every voucher balances.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.config import reporting
from orderdesk.exports.datasets import BATCH, Dataset, invoice_rows
from orderdesk.models import Customer, Receipt

# Default account codes (Chinese accounting standards); the keys are what config overrides.
DEFAULT_ACCOUNTS = {
    "receivable": ("1122", "应收账款"),
    "revenue": ("6001", "主营业务收入"),
    "output_vat": ("22210106", "应交税费-应交增值税(销项税额)"),
    "bank": ("1002", "银行存款"),
}
HEADER = (
    "凭证日期",
    "凭证字",
    "凭证号",
    "摘要",
    "科目编码",
    "科目名称",
    "借方金额",
    "贷方金额",
    "客户",
)
CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def split_tax(amount: Decimal, rate: Decimal) -> tuple[Decimal, Decimal]:
    net = (amount / (1 + rate)).quantize(CENT, rounding=ROUND_HALF_UP)
    return net, amount - net


def _line(
    day: date,
    no: int,
    memo: str,
    account: str,
    debit: Decimal,
    credit: Decimal,
    customer: str,
    codes: dict[str, str],
) -> tuple[Any, ...]:
    code = codes.get(account) or DEFAULT_ACCOUNTS[account][0]
    return (day, "记", no, memo, code, DEFAULT_ACCOUNTS[account][1], debit, credit, customer)


def _entries(session: Session, date_from: date, date_to: date) -> Iterator[Sequence[Any]]:
    # Account codes from the `reporting` config (journal_accounts); the defaults otherwise.
    codes = reporting.load(session).journal_accounts
    no = 0
    stmt = invoice_rows(date_from, date_to).execution_options(yield_per=BATCH)
    for number, day, customer, order_no, amount, rate in session.execute(stmt):
        no += 1
        net, tax = split_tax(amount, rate)
        memo = f"开票 {number} {order_no}"
        yield _line(day, no, memo, "receivable", amount, ZERO, customer, codes)
        yield _line(day, no, memo, "revenue", ZERO, net, customer, codes)
        yield _line(day, no, memo, "output_vat", ZERO, tax, customer, codes)
    receipts = (
        select(Receipt.number, Receipt.received_on, Customer.name, Receipt.amount)
        .join(Customer, Customer.id == Receipt.customer_id)
        .where(
            Receipt.reversed_at.is_(None),
            Receipt.received_on >= date_from,
            Receipt.received_on <= date_to,
        )
        .order_by(Receipt.received_on, Receipt.id)
        .execution_options(yield_per=BATCH)
    )
    for number, day, customer, amount in session.execute(receipts):
        no += 1
        memo = f"回款 {number}"
        yield _line(day, no, memo, "bank", amount, ZERO, customer, codes)
        yield _line(day, no, memo, "receivable", ZERO, amount, customer, codes)


def journal(session: Session, date_from: date, date_to: date) -> Dataset:
    return Dataset(HEADER, _entries(session, date_from, date_to))
