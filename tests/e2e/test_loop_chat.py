"""The loop of test_loop_http, through signed WeCom callbacks wherever chat has the command:
新客户, 待审批 and the card's 同意 button, 任务 新增 / 转给, 成员 添加, 工时, 进度, 查, 验收,
开票, 回款 (a duplicate answered by the 确认登记 button), 撤销回款, 计划, then `orderdesk check`.

Chat has no command for opportunities, contract terms, new orders or submitting: those steps
go through the API, as the mini-app and the H5 pages do."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from orderdesk.core import clock
from orderdesk.runtime import Runtime
from tests.api_support import ApiClient
from tests.chat_world import Chat
from tests.e2e.loop_support import cli, set_up_company
from tests.e2e.test_loop_http import TERMS, ok

RECEIPT_NO = re.compile(r"RC\d{8}-[0-9A-F]{6}")


@pytest.fixture
def api(app: Flask, client: FlaskClient, rt: Runtime, tmp_path: Any) -> ApiClient:
    set_up_company(rt.settings, tmp_path)
    return ApiClient(app, client)


def _deal_through_the_api(api: ApiClient, customer_id: int, today: str) -> str:
    """Opportunity won, contract terms and signature, the order: no chat command for these."""
    api.login("zhangsan")
    opp = ok(
        api.post("/opportunities", json={"customer_id": customer_id, "title": "数据平台"}), 201
    )
    won = ok(api.post(f"/opportunities/{opp['id']}/stage", json={"stage": "won"}))
    contracts = ok(api.get(f"/customers/{customer_id}"))["contracts"]
    [draft] = [c for c in contracts if c["number"] == won["contract_number"]]
    ok(api.patch(f"/contracts/{draft['id']}", json={"amount": "40000", "payment_terms": TERMS}))
    ok(api.post(f"/contracts/{draft['id']}/sign", json={"signed_date": today}))
    order = ok(
        api.post(
            "/orders",
            json={
                "order_type": "IT_IMPL",
                "customer_id": customer_id,
                "title": "数据平台实施",
                "contract": won["contract_number"],
                "lines": [{"service_item": "IT-IMPL-DAY", "quantity": "20"}],
                "custom_fields": {"site": "滨江"},
            },
        ),
        201,
    )
    ok(api.post(f"/orders/{order['number']}/submit"))
    number: str = order["number"]
    return number


def test_the_loop_through_chat(api: ApiClient, rt: Runtime, client: FlaskClient) -> None:
    chat = Chat(client, rt)
    today = clock.today(rt.settings.tz)
    said = chat.app("zhangsan", "新客户 杭州青禾数字科技 联系人 王敏 13800000000").text
    assert "杭州青禾数字科技" in said, said
    [customer] = ok(api.as_(api.login("zhangsan")).get("/customers?q=青禾"))["items"]
    no = _deal_through_the_api(api, customer["id"], today.isoformat())
    # -- the manager: 待审批 shows the card, 同意 approves ---------------------------------------
    pending = chat.app("liuyang", "待审批")
    assert pending.card is not None, pending
    approve = next(b["key"] for b in pending.card["button_list"] if b["key"].startswith("appr"))
    done = chat.click("liuyang", approve, task_id=pending.card["task_id"])
    assert "同意" in done.text, done
    # -- the PM: a task, reassigned; a member added who logs hours and posts progress ----------
    said = chat.app("zhouqiang", f"任务 {no} 新增 数据迁移 @郑凯 2030-12-20").text
    assert said == "已新增任务「数据迁移」,负责人 郑凯,截止 2030-12-20"
    said = chat.app("zhouqiang", f"任务 {no} 转给 数据迁移 @冯雪").text
    assert said == "任务「数据迁移」:负责人 郑凯 → 冯雪"
    assert chat.app("zhouqiang", f"成员 {no} 添加 @郑凯").text.startswith("已将 郑凯 加入项目")
    assert chat.app("zhengkai", f"工时 {no} 3.5 数据字典梳理").text.startswith("已记录工时 3.50")
    assert chat.app("zhengkai", f"进度 {no} 完成联调").text.startswith(f"已记录 {no} 的进度")
    seen = chat.app("zhengkai", f"查 {no}")
    assert no in seen.text and "40,000" not in seen.text  # no money for delivery
    assert "验收" in chat.app("zhouqiang", f"验收 {no} 验收").text
    # -- finance: invoice, receipt, duplicate confirmed by the button, reversal, plan ----------
    assert chat.app("wangfang", f"开票 {no} 首付款").text.startswith(f"已为 {no} 首付款 开具")
    first = chat.app("wangfang", f"回款 {no} 5000").text
    assert first.startswith(f"已登记 {no} 回款 ¥5,000.00"), first
    question = chat.app("wangfang", f"回款 {no} 5000")
    assert question.card is not None and question.card["main_title"]["title"].startswith("可能重复")
    [button] = question.card["button_list"]
    confirmed = chat.click("wangfang", button["key"], task_id=question.card["task_id"])
    second = RECEIPT_NO.search(confirmed.text)
    assert second is not None, confirmed
    reversal = chat.app("wangfang", f"撤销回款 {second.group(0)} 重复登记").text
    assert reversal.startswith(f"已撤销 {no} 回款 {second.group(0)}"), reversal
    later = (today + timedelta(days=40)).isoformat()
    moved = chat.app("wangfang", f"计划 {no} 验收款 到期 {later}").text
    assert "验收款" in moved and "→" in moved and later in moved, moved
    plan = chat.app("wangfang", f"计划 {no}").text
    assert "首付款 ¥12,000.00" in plan and "已收 ¥5,000.00" in plan, plan
    check = cli(rt.settings, "check")
    assert check.exit_code == 0, check.output
