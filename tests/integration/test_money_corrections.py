"""Money that finance can correct (issue 12 B), through the API and chat: the duplicate-receipt
guard, receipt reversal, customer credit applied to a later installment, and the ledger check
that holds credit = credits - applied. The books must balance after every step."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from orderdesk.bot.router import router
from orderdesk.core import clock
from orderdesk.models import Activity, CreditApplication, Invoice, Receipt
from orderdesk.money.ledger import check_ledger
from orderdesk.runtime import Runtime
from orderdesk.wecom.replies import CardReply
from tests.api_support import ApiClient
from tests.api_world import World, build
from tests.chat_world import text


@pytest.fixture
def world(session: Session) -> World:
    return build(session)


@pytest.fixture
def api(app: Flask, client: FlaskClient) -> ApiClient:
    return ApiClient(app, client)


def _books(rt: Runtime) -> None:
    with rt.db.transaction() as s:
        assert [v.line() for v in check_ledger(s)] == []


def _receipts(rt: Runtime) -> int:
    with rt.db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(Receipt)) or 0)


def _say(rt: Runtime, user: str, typed: str) -> str:
    reply = router.dispatch(text(user, typed), rt)
    content = getattr(reply, "content", None)
    assert isinstance(content, str)
    return content


def test_duplicate_receipt_needs_a_confirmation(api: ApiClient, rt: Runtime, world: World) -> None:
    fin = api.as_(api.login("fin"))
    path = f"/orders/{world.o1.number}/receipts"
    assert fin.post(path, json={"amount": "1000.00"}).status_code == 201
    res = fin.post(path, json={"amount": "1000.00", "note": "又一笔"})
    assert res.status_code == 409
    error = res.get_json()["error"]
    assert error["code"] == "possible_duplicate"
    assert error["message"].startswith("可能重复,确认登记?")
    assert _receipts(rt) == 1  # refused: nothing recorded
    # A different amount, or the same one confirmed, goes through.
    assert fin.post(path, json={"amount": "1000.01"}).status_code == 201
    res = fin.post(path, json={"amount": "1000.00", "confirm_duplicate": True})
    assert res.status_code == 201
    # Eight days apart is not a duplicate.
    early = (clock.today(rt.settings.tz) - timedelta(days=8)).isoformat()
    assert fin.post(path, json={"amount": "500.00", "received_on": early}).status_code == 201
    assert fin.post(path, json={"amount": "500.00"}).status_code == 201
    _books(rt)


def test_reversal_through_the_api(api: ApiClient, rt: Runtime, world: World) -> None:
    fin, sales = api.as_(api.login("fin")), api.as_(api.login("sales1"))
    no = world.o1.number
    number = fin.post(f"/orders/{no}/receipts", json={"amount": "3500.00"}).get_json()["receipt"][
        "number"
    ]
    path = f"/receipts/{number}/reverse"
    assert sales.post(path, json={"reason": "错"}).status_code == 403
    assert fin.post(path, json={"reason": ""}).status_code == 422
    assert fin.post("/receipts/RC00000000-NOPE/reverse", json={"reason": "x"}).status_code == 404
    res = fin.post(path, json={"reason": "客户打错账户"})
    assert res.status_code == 200, res.get_json()
    body = res.get_json()
    assert body["receipt"]["reversed"] is True
    assert body["receipt"]["reverse_reason"] == "客户打错账户"
    assert [a["amount"] for a in body["allocations"]] == ["3000.00", "500.00"]
    assert body["summary"]["received"] == "0.00"
    assert fin.post(path, json={"reason": "再来"}).status_code == 409
    # Shown as reversed where the order's money is listed (to its salesperson too).
    listed = sales.get(f"/orders/{no}/payments").get_json()["receipts"]
    assert [(r["number"], r["reversed"]) for r in listed] == [(number, True)]
    # A reversed receipt is no twin: the same amount can be recorded again without confirm.
    assert fin.post(f"/orders/{no}/receipts", json={"amount": "3500.00"}).status_code == 201
    _books(rt)


def _credit_ready(fin: ApiClient, world: World) -> tuple[str, int, int]:
    """2000 of credit (receipt B) and the first installment (3000) owed again."""
    no = world.o1.number
    a = fin.post(f"/orders/{no}/receipts", json={"amount": "3000.00"}).get_json()
    b = fin.post(f"/orders/{no}/receipts", json={"amount": "9000.00"}).get_json()
    fin.post(f"/receipts/{a['receipt']['number']}/reverse", json={"reason": "退回"})
    first = a["allocations"][0]["installment_id"]
    second = b["allocations"][0]["installment_id"]
    return b["receipt"]["number"], first, second


def test_credit_applied_to_a_later_installment(api: ApiClient, rt: Runtime, world: World) -> None:
    fin, sales = api.as_(api.login("fin")), api.as_(api.login("sales1"))
    source, first, second = _credit_ready(fin, world)
    path = f"/orders/{world.o1.number}/credit-applications"
    assert sales.post(path, json={"installment_id": first}).status_code == 403
    res = fin.post(path, json={"installment_id": second})
    assert res.status_code == 422  # already paid
    res = fin.post(path, json={"installment_id": first, "amount": "2000.01"})
    assert res.status_code == 422 and res.get_json()["error"]["fields"] == {
        "amount": "exceeds_credit"
    }
    res = fin.post(path, json={"installment_id": 999999})
    assert res.status_code == 422
    res = fin.post(path, json={"installment_id": first})  # default: all the credit there is
    assert res.status_code == 201, res.get_json()
    body = res.get_json()
    assert body["amount"] == "2000.00" and body["credit_left"] == "0.00"
    assert body["from_receipts"] == [{"number": source, "amount": "2000.00"}]
    assert body["installment"]["paid_amount"] == "2000.00"
    assert body["summary"]["received"] == "9000.00"
    assert fin.post(path, json={"installment_id": first}).status_code == 422  # no credit left
    _books(rt)
    # Reversing the source undoes what its credit paid.
    assert fin.post(f"/receipts/{source}/reverse", json={"reason": "退款"}).status_code == 200
    payments = fin.get(f"/orders/{world.o1.number}/payments").get_json()
    assert [i["paid_amount"] for i in payments["plan"]["installments"]] == ["0.00", "0.00"]
    _books(rt)


def test_ledger_catches_broken_credit(api: ApiClient, rt: Runtime, world: World) -> None:
    fin = api.as_(api.login("fin"))
    source, first, _ = _credit_ready(fin, world)
    fin.post(
        f"/orders/{world.o1.number}/credit-applications",
        json={"installment_id": first, "amount": "500.00"},
    )
    _books(rt)
    with rt.db.transaction() as s:
        s.execute(update(CreditApplication).values(amount=Decimal("2500.00")))
    with rt.db.transaction() as s:
        rules = {v.rule for v in check_ledger(s)}
    assert {"credit_overdrawn", "credit_balance", "paid_vs_allocations"} <= rules
    with rt.db.transaction() as s:
        s.execute(update(CreditApplication).values(amount=Decimal("500.00")))
        s.execute(update(Receipt).where(Receipt.number == source).values(reversed_at=clock.now()))
    with rt.db.transaction() as s:
        assert "credit_reversed" in {v.rule for v in check_ledger(s)}


def test_chat_duplicate_confirm_and_reversal(rt: Runtime, world: World) -> None:
    no = world.o1.number
    first = _say(rt, "fin", f"回款 {no} 1000 首付")
    assert first.startswith(f"已登记 {no} 回款 ¥1,000.00")
    # The question comes as a card with a 确认登记 button; typing `… 确认` also answers it.
    card = router.dispatch(text("fin", f"回款 {no} 1000 首付"), rt)
    assert isinstance(card, CardReply)
    twice = card.card["sub_title_text"]
    assert twice.startswith("可能重复,确认登记?")
    assert f"回款 {no} 1000 首付 确认" in twice
    assert _receipts(rt) == 1
    confirmed = _say(rt, "fin", f"回款 {no} 1000 首付 确认")
    assert confirmed.startswith(f"已登记 {no} 回款 ¥1,000.00")
    assert _receipts(rt) == 2
    with rt.db.transaction() as s:
        number = s.scalars(select(Receipt.number).order_by(Receipt.id)).first()
    assert number is not None
    assert _say(rt, "fin", f"撤销回款 {number}").startswith("请写上回款编号和撤销原因")
    assert _say(rt, "sales1", f"撤销回款 {number} 录错").startswith("此操作需要以下角色之一")
    done = _say(rt, "fin", f"撤销回款 {number.lower()} 录错了")
    assert done.startswith(f"已撤销 {no} 回款 {number} ¥1,000.00,原因:录错了")
    assert "首付款 恢复应收 ¥1,000.00" in done
    assert "已于" in _say(rt, "fin", f"撤销回款 {number} 再撤")
    with rt.db.transaction() as s:
        reversed_on_timeline = s.scalar(
            select(func.count()).select_from(Activity).where(Activity.body.like("冲销回款%"))
        )
    assert reversed_on_timeline == 1
    _books(rt)


def _plan(api: ApiClient, no: str) -> list[dict]:
    return list(api.get(f"/orders/{no}/payments").get_json()["plan"]["installments"])


def test_plan_edit_keeps_the_total_and_locks_money_in(
    api: ApiClient, rt: Runtime, world: World
) -> None:
    fin, sales = api.as_(api.login("fin")), api.as_(api.login("sales1"))
    no = world.o1.number
    a, b = (i["id"] for i in _plan(fin, no))
    path = f"/orders/{no}/payment-plan"
    move = {"installments": [{"id": a, "amount": "2000.00"}, {"id": b, "amount": "8000.00"}]}
    assert sales.patch(path, json=move).status_code == 403
    res = fin.patch(path, json={"installments": [{"id": a, "amount": "2000.00"}]})
    assert res.status_code == 422
    assert res.get_json()["error"]["fields"] == {"installments": "sum_mismatch"}
    assert fin.patch(path, json={"installments": [{"id": 999999}]}).status_code == 422
    res = fin.patch(
        path,
        json={
            "installments": [
                {"id": a, "amount": "2000.00"},
                {"id": b, "amount": "8000.00", "due_date": "2027-03-01", "trigger": "on_date"},
            ]
        },
    )
    assert res.status_code == 200, res.get_json()
    body = res.get_json()
    assert body["changes"] == 2
    assert [(i["amount"], i["due_date"]) for i in body["plan"]["installments"]] == [
        ("2000.00", body["plan"]["installments"][0]["due_date"]),
        ("8000.00", "2027-03-01"),
    ]
    with rt.db.transaction() as s:
        entry = s.scalars(
            select(Activity).where(Activity.body.like("调整付款计划%")).order_by(Activity.id)
        ).one()
        assert "金额 3000.00 → 2000.00" in entry.body
        assert "到期日" in entry.body and "→ 2027-03-01" in entry.body
        change = entry.data["plan_changes"][0]
        assert change["before"]["amount"] == "3000.00" and change["after"]["amount"] == "2000.00"
    # Money in is locked: 2500 received -> the first is paid (frozen), the second cannot go
    # below its 500.
    fin.post(f"/orders/{no}/receipts", json={"amount": "2500.00"})
    res = fin.patch(path, json={"installments": [{"id": a, "due_date": "2027-01-01"}]})
    assert res.status_code == 422 and res.get_json()["error"]["fields"] == {"id": "paid"}
    res = fin.patch(path, json={"installments": [{"id": b, "amount": "400.00"}]})
    assert res.get_json()["error"]["fields"] == {"amount": "below_paid_or_invoiced"}
    _books(rt)


TAX_ID = "91330100MA2KXXXX0Q"


def test_invoices_issue_void_and_red_letter(api: ApiClient, rt: Runtime, world: World) -> None:
    fin, sales = api.as_(api.login("fin")), api.as_(api.login("sales1"))
    no = world.o1.number
    path = f"/orders/{no}/invoices"
    assert sales.post(path, json={"installment": "首付款"}).status_code == 403
    res = fin.post(path, json={"installment": "首付款", "kind": "数电专票"})
    assert res.status_code == 422
    assert res.get_json()["error"]["fields"] == {"buyer_tax_id": "required"}
    res = fin.post(path, json={"installment": "不存在的款"})
    assert res.status_code == 422 and "首付款" in res.get_json()["error"]["message"]
    res = fin.post(
        path,
        json={
            "installment": "首付款",
            "kind": "数电专票",
            "buyer_tax_id": TAX_ID.lower(),
            "amount": "1000.00",
        },
    )
    assert res.status_code == 201, res.get_json()
    e_inv = res.get_json()
    assert (e_inv["kind"], e_inv["kind_name"], e_inv["tax_rate"]) == (
        "e_special",
        "数电专票",
        "0.0600",
    )
    assert (e_inv["amount_excl_tax"], e_inv["tax_amount"]) == ("943.40", "56.60")
    assert (e_inv["buyer_name"], e_inv["buyer_tax_id"]) == ("上海云启科技有限公司", TAX_ID)
    # 数电 cannot be voided: red letter instead.
    res = fin.post(f"/invoices/{e_inv['number']}/void", json={"reason": "开错"})
    assert res.status_code == 409 and "红字" in res.get_json()["error"]["message"]
    red = fin.post(f"/invoices/{e_inv['number']}/red-letter", json={"reason": "购买方信息有误"})
    assert red.status_code == 201, red.get_json()
    assert red.get_json()["status"] == "red" and red.get_json()["red_of_id"] == e_inv["id"]
    again = fin.post(f"/invoices/{e_inv['number']}/red-letter", json={"reason": "再红冲"})
    assert again.status_code == 409
    assert fin.post("/invoices/NOPE/red-letter", json={"reason": "x"}).status_code == 404
    # The first installment (3000) can be fully invoiced again; a paper one can be voided.
    paper = fin.post(path, json={"installment": "首付款", "kind": "纸质普票", "tax_rate": "13%"})
    assert paper.status_code == 201 and paper.get_json()["amount"] == "3000.00"
    assert fin.post(path, json={"installment": "首付款"}).status_code == 422  # nothing left
    voided = fin.post(f"/invoices/{paper.get_json()['number']}/void", json={"reason": "抬头错"})
    assert voided.status_code == 200 and voided.get_json()["status"] == "void"
    listed = fin.get(f"/orders/{no}/payments").get_json()
    assert [i["status"] for i in listed["invoices"]] == ["reversed", "red", "void"]
    assert listed["plan"]["installments"][0]["invoiced_amount"] == "0.00"
    _books(rt)


def test_ledger_catches_a_red_letter_without_its_original(
    api: ApiClient, rt: Runtime, world: World
) -> None:
    fin = api.as_(api.login("fin"))
    inv = fin.post(f"/orders/{world.o1.number}/invoices", json={"installment": "首付款"})
    number = inv.get_json()["number"]
    fin.post(f"/invoices/{number}/red-letter", json={"reason": "错"})
    _books(rt)
    with rt.db.transaction() as s:
        s.execute(update(Invoice).where(Invoice.number == number).values(status="issued"))
    with rt.db.transaction() as s:
        rules = {v.rule for v in check_ledger(s)}
    assert "red_letter" in rules and "invoiced_vs_invoices" in rules


def test_chat_invoice_command(rt: Runtime, world: World) -> None:
    no = world.o1.number
    assert _say(rt, "sales1", f"开票 {no} 首付款").startswith("此操作需要以下角色之一")
    assert _say(rt, "fin", f"开票 {no}").startswith("请写上订单号和分期名称")
    done = _say(rt, "fin", f"开票 {no} 首付款 数电专票 {TAX_ID}")
    assert done.startswith(f"已为 {no} 首付款 开具数电专票 INV")
    assert "价税合计 ¥3,000.00(税率 6%)" in done
    assert "不含税 ¥2,830.19,税额 ¥169.81" in done
    assert f"购买方 上海云启科技有限公司({TAX_ID})" in done
    assert "可开票余额" in _say(rt, "fin", f"invoice {no} 首付款")
    _books(rt)
