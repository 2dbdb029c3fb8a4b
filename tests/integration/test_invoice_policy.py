"""先票后款: accepting the milestone that triggers an installment tells finance to invoice it, with
the buyer's invoicing details; 先款后票 does not. The card passes the strict WeCom rules."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.models import Installment, OutboxMessage
from orderdesk.money.invoices import issue_invoice, red_letter
from orderdesk.money.ledger import check_ledger
from orderdesk.money.plans import generate_plan
from orderdesk.projects.service import accept_milestone
from orderdesk.runtime import Runtime
from tests.fakes.wecom_rules import check_message_send
from tests.money_world import contract_of, order_with_contract, project_for, staff

TAX_ID = "91330100MA2KXXXX0Q"
TERMS = [
    {"name": "首付款", "percent": "30", "trigger": "on_signing"},
    {"name": "验收款", "percent": "70", "trigger": "on_milestone", "milestone": "验收"},
]


def _accept(session: Session, policy: str, number: str) -> list[OutboxMessage]:
    sales = staff(session, f"s-{number}", "sales")
    order = order_with_contract(session, owner=sales, amount="10000.00", terms=TERMS, number=number)
    contract = contract_of(order)
    contract.invoicing_policy = policy
    contract.buyer_tax_id = TAX_ID
    generate_plan(session, contract=contract, order=order)
    project = project_for(session, order)
    accept_milestone(
        session, actor=sales, project_code=project.code, milestone_id=project.milestones[0].id
    )
    session.flush()
    return list(
        session.scalars(
            select(OutboxMessage).where(OutboxMessage.idempotency_key.like("invoice-due:%"))
        )
    )


def test_invoice_first_tells_finance(rt: Runtime, session: Session) -> None:
    fin = staff(session, "fin1", "finance")
    staff(session, "fin2", "finance")
    [msg] = _accept(session, "invoice_first", "SO-IF")
    assert msg.recipient == "fin1|fin2" and msg.channel == "app_message"
    card = msg.payload["template_card"]
    assert card["main_title"]["title"] == "待开票:SO-IF 验收款"
    fields = {f["keyname"]: f["value"] for f in card["horizontal_content_list"]}
    assert fields["税号"] == TAX_ID and fields["购买方"] == "客户-SO-IF"
    assert card["emphasis_content"]["title"] == "¥7,000.00"
    check_message_send({**msg.payload, "touser": msg.recipient, "agentid": 1})
    # The invoice it asks for takes the contract's buyer tax id (专票 needs it).
    inst = session.scalars(select(Installment).where(Installment.name == "验收款")).one()
    inv = issue_invoice(session, actor=fin, installment_id=inst.id, kind="数电专票")
    assert inv.buyer_tax_id == TAX_ID and inv.amount == Decimal("7000.00")
    assert check_ledger(session) == []


def test_payment_first_sends_nothing(rt: Runtime, session: Session) -> None:
    staff(session, "fin1", "finance")
    assert _accept(session, "payment_first", "SO-PF") == []


def test_invoice_numbers_carry_the_company_day_not_the_utc_one(session: Session) -> None:
    """07:30 on 1 July in Shanghai is still 30 June in UTC: numbers and dates say 1 July."""
    fin = staff(session, "fin1", "finance")
    owner = staff(session, "s1", "sales")
    terms = [{"amount": "1000.00", "trigger": "on_date", "date": "2026-07-10"}]
    o = order_with_contract(session, owner=owner, amount="1000.00", number="SO-7", terms=terms)
    generate_plan(session, contract=contract_of(o), order=o)
    session.flush()
    inst = session.scalars(select(Installment)).one()
    with clock.frozen(datetime(2026, 6, 30, 23, 30, tzinfo=UTC)):
        invoice = issue_invoice(session, actor=fin, installment_id=inst.id, amount="400.00")
        red = red_letter(session, actor=fin, number=invoice.number, reason="开错抬头")
    assert invoice.number.startswith("INV20260701-") and invoice.issue_date == date(2026, 7, 1)
    assert red.number.startswith("RED20260701-") and red.issue_date == date(2026, 7, 1)
    assert check_ledger(session) == []
