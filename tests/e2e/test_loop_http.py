"""The whole loop through the HTTP API only: a new customer with a contact, an opportunity won,
the contract completed with terms and signed, an order with custom fields, submitted and
approved by clicking the approval card (a signed WeCom callback), the project with an added
task and member, hours, a milestone accepted, an invoice issued, a partial receipt, a duplicate
refused then confirmed, a receipt reversed, the plan edited, and `orderdesk check` clean.

The company (staff, order type, flow, template) is set up with the CLI (tests/e2e/loop_support);
nothing here calls a service. The one thing read outside the API is the approval card, from
the outbox: it is what WeCom would have shown the approver (sandbox mode sends nothing)."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from orderdesk.core import clock
from orderdesk.models import OutboxMessage
from orderdesk.runtime import Runtime
from tests.api_support import ApiClient
from tests.chat_world import Chat
from tests.e2e.loop_support import cli, set_up_company

CREDIT_CODE = "91330106MA2KXXXX1X"
TAX_ID = "91330106MA2H2A1B3C"
TERMS = [
    {"name": "首付款", "percent": "30", "trigger": "on_signing", "days": 0},
    {"name": "验收款", "percent": "70", "trigger": "on_milestone", "milestone": "验收", "days": 10},
]


@pytest.fixture
def api(app: Flask, client: FlaskClient, rt: Runtime, tmp_path: Any) -> ApiClient:
    set_up_company(rt.settings, tmp_path)
    return ApiClient(app, client)


def ok(res: Any, status: int = 200) -> dict[str, Any]:
    assert res.status_code == status, (res.status_code, res.get_data(as_text=True)[:800])
    body: dict[str, Any] = res.get_json() if res.data else {}
    return body


def approval_card(rt: Runtime, userid: str) -> dict[str, Any]:
    """The newest approval card delivered to `userid` (its task id and buttons)."""
    with rt.db.transaction() as s:
        row = s.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.idempotency_key.like("approval-card:%"),
                OutboxMessage.recipient == userid,
            )
            .order_by(OutboxMessage.id.desc())
        ).first()
        assert row is not None, f"no approval card for {userid}"
        card: dict[str, Any] = row.payload["template_card"]
        return card


def timeline(api: ApiClient, number: str) -> list[str]:
    body = ok(api.get(f"/orders/{number}?timeline_limit=100"))
    return [item["body"] for item in body["timeline"]["items"]]


def test_the_loop_through_the_api(api: ApiClient, rt: Runtime, client: FlaskClient) -> None:
    today = clock.today(rt.settings.tz)
    # -- sales: customer, opportunity won, contract completed and signed ----------------------
    api.login("zhangsan")
    customer = ok(
        api.post(
            "/customers",
            json={
                "name": "杭州青禾数字科技有限公司",
                "contacts": [{"name": "王敏", "phone": "13800000000", "title": "IT 总监"}],
            },
        ),
        201,
    )
    assert [c["name"] for c in customer["contacts"]] == ["王敏"]
    customer = customer["customer"]
    opp = ok(
        api.post(
            "/opportunities",
            json={
                "customer_id": customer["id"],
                "title": "数据平台实施",
                "expected_amount": "40000",
                "business_line": "IT",
            },
        ),
        201,
    )
    won = ok(api.post(f"/opportunities/{opp['id']}/stage", json={"stage": "won"}))
    drafts = ok(api.get(f"/customers/{customer['id']}"))["contracts"]
    [draft] = [c for c in drafts if c["number"] == won["contract_number"]]
    contract = ok(
        api.patch(
            f"/contracts/{draft['id']}",
            json={
                "payment_terms": TERMS,
                "invoicing_policy": "先票后款",
                "buyer_tax_id": TAX_ID,
            },
        )
    )
    assert contract["business_line"] == "IT" and contract["invoicing_policy"] == "invoice_first"
    signed = ok(api.post(f"/contracts/{draft['id']}/sign", json={"signed_date": today.isoformat()}))
    assert signed["status"] == "signed"
    # -- the order with custom fields, submitted, approved by the manager's card click --------
    order = ok(
        api.post(
            "/orders",
            json={
                "order_type": "IT_IMPL",
                "customer_id": customer["id"],
                "title": "数据平台实施",
                "contract": signed["number"],
                "lines": [{"service_item": "IT-IMPL-DAY", "quantity": "20"}],
                "custom_fields": {"site": "滨江", "users": "120"},
            },
        ),
        201,
    )
    no = order["number"]
    assert order["amount"] == "40000.00"
    found = ok(api.get("/orders?q=滨江"))["items"]
    assert [o["number"] for o in found] == [no]
    ok(api.post(f"/orders/{no}/submit"))
    card = approval_card(rt, "liuyang")
    approve = next(b["key"] for b in card["button_list"] if b["key"].startswith("approve:"))
    clicked = Chat(client, rt).click("liuyang", approve, task_id=card["task_id"])
    assert "同意" in clicked.text
    detail = ok(api.get(f"/orders/{no}"))
    assert detail["status"] in ("approved", "in_progress"), detail["status"]
    code = detail["project"]["code"]
    # -- the PM: a task, a member from outside the template, who logs hours -------------------
    api.login("zhouqiang")
    task = ok(
        api.post(
            f"/projects/{code}/tasks",
            json={"title": "数据迁移", "owner_userid": "zhengkai", "due_date": "2030-12-20"},
        ),
        201,
    )
    moved = ok(
        api.patch(
            f"/projects/{code}/tasks/{task['id']}",
            json={"owner_userid": "fengxue", "due_date": "2030-12-28"},
        )
    )
    assert moved["owner"]["userid"] == "fengxue" and moved["due_date"] == "2030-12-28"
    members = ok(api.post(f"/projects/{code}/members", json={"userid": "zhengkai"}), 201)
    assert "zhengkai" in [m["userid"] for m in members["members"]]
    api.login("zhengkai")  # added, not in the template, owns no task now
    seen = ok(api.get(f"/orders/{no}"))
    assert seen["amount"] is None and seen["money"] is None  # delivery sees no money
    ok(api.post(f"/projects/{code}/timesheets", json={"hours": "3.5", "note": "数据字典梳理"}), 201)
    ok(
        api.post(
            f"/orders/{no}/progress",
            data={"text": "完成联调", "files": (io.BytesIO(b"%PDF-1.4 ok"), "联调记录.pdf")},
            content_type="multipart/form-data",
        ),
        201,
    )
    [progress] = [
        i for i in ok(api.get(f"/orders/{no}"))["timeline"]["items"] if i["body"] == "完成联调"
    ]
    [file] = progress["attachments"]
    assert file["name"] == "联调记录.pdf"
    listed = ok(api.get(f"/projects/{code}/attachments"))["items"]
    assert [f["id"] for f in listed] == [file["id"]]
    download = api.get(f"/attachments/{file['id']}")
    assert download.data == b"%PDF-1.4 ok"
    assert "filename*=UTF-8''%E8%81%94%E8%B0%83" in download.headers["Content-Disposition"]
    # -- the milestone accepted: the 验收款 falls due --------------------------------------------
    api.login("zhouqiang")
    project = ok(api.get(f"/projects/{code}"))
    assert project["hours_total"] == "3.50"
    accept = next(m for m in project["milestones"] if m["name"] == "验收")
    ok(api.post(f"/projects/{code}/milestones/{accept['id']}/accept"))
    # -- finance: invoice, partial receipt, duplicate refused then confirmed, reversal --------
    api.login("wangfang")
    plan = ok(api.get(f"/orders/{no}/payments"))["plan"]["installments"]
    assert [(i["name"], i["amount"]) for i in plan] == [
        ("首付款", "12000.00"),
        ("验收款", "28000.00"),
    ]
    assert plan[1]["due_date"] == (today + timedelta(days=10)).isoformat()
    invoice = ok(api.post(f"/orders/{no}/invoices", json={"installment": "首付款"}), 201)
    assert invoice["buyer_tax_id"] == TAX_ID and invoice["amount"] == "12000.00"
    first = ok(api.post(f"/orders/{no}/receipts", json={"amount": "5000"}), 201)
    dup = api.post(f"/orders/{no}/receipts", json={"amount": "5000"})
    assert dup.status_code == 409 and "可能重复" in dup.get_json()["error"]["message"]
    second = ok(
        api.post(f"/orders/{no}/receipts", json={"amount": "5000", "confirm_duplicate": True}),
        201,
    )
    reversed_ = ok(
        api.post(f"/receipts/{second['receipt']['number']}/reverse", json={"reason": "重复登记"})
    )
    assert reversed_["receipt"]["reversed"] is True
    payments = ok(api.get(f"/orders/{no}/payments"))
    assert payments["plan"]["installments"][0]["paid_amount"] == "5000.00"
    assert first["receipt"]["number"] in [r["number"] for r in payments["receipts"]]
    # -- the plan edited: the unpaid 验收款 moves, on the timeline old → new ------------------
    later = (today + timedelta(days=40)).isoformat()
    edited = ok(
        api.patch(
            f"/orders/{no}/payment-plan",
            json={"installments": [{"id": plan[1]["id"], "due_date": later}]},
        )
    )
    assert edited["plan"]["installments"][1]["due_date"] == later
    bodies = timeline(api, no)
    assert any("验收款" in b and "→" in b and later in b for b in bodies), bodies
    assert any("数据迁移" in b and "郑凯 → 冯雪" in b for b in bodies), bodies
    # -- and the books hold --------------------------------------------------------------------
    check = cli(rt.settings, "check")
    assert check.exit_code == 0, check.output
