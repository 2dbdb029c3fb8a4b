"""Every chat command end to end: real encrypted callbacks (app XML 1:1, bot JSON in a group)
through the Flask app, the real router and the real services."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import responses
from sqlalchemy import select

from orderdesk.directory.staff import NOT_ENABLED
from orderdesk.models import (
    Activity,
    ApprovalAction,
    ApprovalRequest,
    Attachment,
    ChatBinding,
    Order,
    Receipt,
    TimeEntry,
)
from orderdesk.wecom import signing
from tests.chat_world import Co, company  # noqa: F401 - provides the `co` fixture

# -- help / welcome ----------


def test_help_and_welcome_in_both_channels(co: Co) -> None:
    assert co.chat.app("sales1", "帮助").text.startswith("OrderDesk 命令")
    assert co.chat.bot("sales1", "help").text.startswith("OrderDesk 命令")
    assert "回款 <订单号> <金额>" in co.chat.bot("fin1", "ＨＥＬＰ 回款").text
    assert co.chat.enter("sales1").text.startswith("王销售,你好")
    assert co.chat.bot_enter("sales1", "grp-team").text.startswith("王销售,你好")


def test_unknown_user_gets_only_the_enable_message(co: Co) -> None:
    assert co.chat.app("stranger", "查 SO-2026-0001").text == NOT_ENABLED
    assert co.chat.bot("stranger", "帮助").text == NOT_ENABLED


# -- 查 ----------


def test_order_card_in_1to1_and_markdown_in_a_group(co: Co) -> None:
    card = co.chat.app("sales1", "查 so-2026-1").card
    assert card is not None and card["card_type"] == "text_notice"
    assert card["main_title"]["title"].startswith("SO-2026-0001")
    rows = {r["keyname"]: r["value"] for r in card["horizontal_content_list"]}
    assert rows["客户"] == "星海科技" and rows["金额"] == "¥60,000.00" and rows["状态"] == "审批中"
    assert "第1/2步 销售经理" in card["sub_title_text"]
    assert card["card_action"]["url"].endswith("/m/orders/SO-2026-0001")
    md = co.chat.bot("sales1", "查 SO-2026-0002").text
    assert "**SO-2026-0002**" in md
    assert "任务完成 0%" in md and "下个里程碑 上线" in md
    # An unbound group shows no money, whoever asks.
    assert "仅相关人员可见" in md and "¥100,000.00" not in md


def test_order_money_and_project_lines_for_finance(co: Co) -> None:
    card = co.chat.app("fin1", "查 SO-2026-0002").card
    assert card is not None
    text = card["sub_title_text"]
    assert "回款:¥0.00 / ¥100,000.00" in text
    assert "逾期:¥30,000.00(1 笔)" in text
    assert "负责人:王销售" in text


def test_search_several_matches_and_none(co: Co) -> None:
    many = co.chat.app("sales1", "查 星海").text
    assert many.startswith("找到多个「星海」相关订单")
    assert "SO-2026-0001" in many and "SO-2026-0002" in many
    miss = co.chat.bot("sales1", "查 星海科枝").text
    assert miss.startswith("没有找到「星海科枝」") and "星海科技" in miss
    near = co.chat.app("sales1", "查 SO-2026-0009").text
    assert "没有找到" in near and "SO-2026-000" in near
    assert co.chat.app("sales1", "查").text.startswith("请告诉我要查什么\n用法:查")


# -- 我的 / 待审批 / 批准 / 驳回 ----------


def test_my_orders_counts_and_scope(co: Co) -> None:
    mine = co.chat.app("sales1", "我的").text
    assert "SO-2026-0001" in mine and "SO-2026-0002" in mine and "SO-2026-0003" not in mine
    assert "审批中 1" in mine and "执行中 1" in mine
    pm = co.chat.bot("pm1", "my").text
    assert "SO-2026-0002" in pm and "SO-2026-0001" not in pm
    approver = co.chat.app("mgr1", "我的").text
    assert "SO-2026-0001" in approver


def test_pending_is_a_button_card_and_a_list_in_a_group(co: Co) -> None:
    card = co.chat.app("mgr1", "待审批").card
    assert card is not None and card["card_type"] == "button_interaction"
    keys = [b["key"] for b in card["button_list"]]
    assert keys == [f"approve:{co.request_id}", f"reject:{co.request_id}"]
    assert card["task_id"] != f"appr-{co.request_id}"  # a re-sent card has its own task id
    group = co.chat.bot("mgr1", "pending").text
    assert "SO-2026-0001" in group and "单聊" in group
    assert co.chat.app("sales2", "待审批").text.startswith("没有等你审批")


def test_approve_by_command_then_by_card_then_the_same_click_again(co: Co) -> None:
    first = co.chat.app("mgr1", "批准 SO-2026-0001 同意")
    assert "同意" in first.text
    # Step 2 is finance: the card click decides it and the button shows who and when.
    clicked = co.chat.click("fin1", f"approve:{co.request_id}", task_id="appr-2")
    assert clicked.kind == "update_button"
    assert re.fullmatch(r"已同意 · 钱财务 · \d{2}:\d{2}", clicked.text)
    assert co.order("SO-2026-0001").status == "approved"
    again = co.chat.click("fin1", f"approve:{co.request_id}", task_id="appr-2")
    assert again.kind == "update_button" and again.text.startswith("已由 钱财务 于")
    assert co.count(ApprovalAction, ApprovalAction.request_id == co.request_id) == 2


def test_reject_needs_a_reason_and_returns_the_order_to_draft(co: Co) -> None:
    usage = co.chat.app("mgr1", "驳回 SO-2026-0001").text
    assert usage.startswith("驳回必须写明原因\n用法:驳回 <订单号> <原因>")
    assert co.order("SO-2026-0001").status == "pending_approval"
    done = co.chat.bot("mgr1", "reject SO-2026-0001 折扣太高")
    assert "驳回" in done.text
    assert co.order("SO-2026-0001").status == "draft"


def test_reject_from_a_card_asks_for_the_reason_then_decides(co: Co) -> None:
    asked = co.chat.click("mgr1", f"reject:{co.request_id}")
    assert asked.kind == "update_card"
    assert "multiple_interaction" in asked.raw and f"rejectwhy:{co.request_id}" in asked.raw
    assert co.order("SO-2026-0001").status == "pending_approval"  # nothing decided yet
    nothing = co.chat.click("mgr1", f"rejectwhy:{co.request_id}", selected={"reason": []})
    assert nothing.kind != "update_button"
    assert co.order("SO-2026-0001").status == "pending_approval"
    picked = co.chat.click("mgr1", f"rejectwhy:{co.request_id}", selected={"reason": ["price"]})
    assert picked.kind == "update_button" and picked.text.startswith("已驳回 · 张经理")
    with co.rt.db.transaction() as s:
        action = s.scalar(select(ApprovalAction).where(ApprovalAction.decision == "reject"))
        assert action is not None and action.comment == "价格或折扣不合理"
    late = co.chat.click("mgr1", f"reject:{co.request_id}")
    assert late.kind == "update_button" and late.text.startswith("已由 张经理 于")


def test_a_non_approver_cannot_decide(co: Co) -> None:
    # sales2 cannot even see the order: it reads as missing.
    assert co.chat.app("sales2", "批准 SO-2026-0001").text == "找不到订单 SO-2026-0001"
    assert "不是" in co.chat.app("fin1", "批准 SO-2026-0001").text  # sees it, not step 1
    with co.rt.db.transaction() as s:
        assert s.get(ApprovalRequest, co.request_id).status == "pending"  # type: ignore[union-attr]


# -- 进度 / 工时 ----------


def test_progress_in_both_channels_and_the_project_group_push(co: Co) -> None:
    with co.rt.db.transaction() as s:
        order = s.scalar(select(Order).where(Order.number == "SO-2026-0002"))
        assert order is not None and order.project is not None
        s.add(
            ChatBinding(
                kind="appchat", chat_id="prjgrp1", project_id=order.project.id, audience="internal"
            )
        )
    said = co.chat.app("sales1", "进度 SO-2026-0002 完成需求调研")
    assert said.text.startswith("已记录 SO-2026-0002 的进度") and "1 个项目群" in said.text
    assert co.chat.bot("pm1", "log SO-2026-0002 部署完成").text.startswith("已记录")
    with co.rt.db.transaction() as s:
        from orderdesk.models import Activity, OutboxMessage

        bodies = s.scalars(select(Activity.body).where(Activity.kind == "progress")).all()
        assert set(bodies) == {"完成需求调研", "部署完成"}
        pushes = s.scalars(
            select(OutboxMessage).where(OutboxMessage.idempotency_key.like("progress-push:%"))
        ).all()
        assert {p.recipient for p in pushes} == {"prjgrp1"} and len(pushes) == 2
    assert co.chat.app("sales1", "进度 SO-2026-0002").text.startswith("请写上订单号和进度内容")


def test_hours_in_both_channels(co: Co) -> None:
    ok = co.chat.app("pm1", "工时 SO-2026-0002 2.5 需求访谈")
    assert ok.text.startswith("已记录工时 2.50 小时")
    assert co.chat.bot("dev1", "hours SO-2026-0002 3h").text.startswith("已记录工时 3.00")
    with co.rt.db.transaction() as s:
        hours = s.scalars(select(TimeEntry.hours).order_by(TimeEntry.id)).all()
        assert hours == [Decimal("2.50"), Decimal("3.00")]
    assert co.chat.app("pm1", "工时 SO-2026-0002 0").text.startswith("工时必须大于 0")
    assert co.chat.app("pm1", "工时 SO-2026-0002 24.5").text.startswith("工时必须大于 0")


# -- 回款 / 逾期 ----------


def test_paid_by_finance_in_both_channels(co: Co) -> None:
    done = co.chat.app("fin1", "回款 SO-2026-0002 1.2万 昨天 首付款部分").text
    assert done.startswith("已登记 SO-2026-0002 回款 ¥12,000.00")
    assert "剩余应收 ¥88,000.00" in done
    more = co.chat.bot("fin1", "paid SO-2026-0002 ¥18,000.00").text
    assert "剩余应收 ¥70,000.00" in more
    with co.rt.db.transaction() as s:
        amounts = s.scalars(select(Receipt.amount).order_by(Receipt.id)).all()
        assert amounts == [Decimal("12000.00"), Decimal("18000.00")]
        notes = s.scalars(select(Receipt.note).order_by(Receipt.id)).all()
        assert notes == ["首付款部分", None]


def test_paid_is_finance_only_and_bad_amounts_show_usage(co: Co) -> None:
    denied = co.chat.app("sales1", "回款 SO-2026-0002 100").text
    assert "财务" in denied
    assert co.count(Receipt) == 0
    bad = co.chat.app("fin1", "回款 SO-2026-0002 一万").text
    assert bad.startswith("金额「一万」看不懂") and "例如:回款" in bad


def test_overdue_grouped_by_customer(co: Co) -> None:
    text = co.chat.app("fin1", "逾期").text
    assert "**星海科技** ¥30,000.00(1 笔)" in text
    assert "SO-2026-0002 首付款" in text and "合计 ¥30,000.00" in text
    assert co.chat.app("sales2", "overdue").text == "没有逾期的应收款"
    assert "单聊" in co.chat.bot("fin1", "逾期").text  # an unbound group shows no money


# -- 绑定 / 解绑 ----------


def test_bind_and_unbind_a_group(co: Co) -> None:
    assert "群聊" in co.chat.app("sales1", "绑定 SO-2026-0001").text
    bound = co.chat.bot("sales1", "绑定 SO-2026-0002", chat="grp-prj")
    assert bound.text.startswith("本群已绑定 SO-2026-0002(内部群)")
    # Bound on purpose: the group now shows the order's money to those who may see it.
    assert "¥100,000.00" in co.chat.bot("sales1", "查 SO-2026-0002", chat="grp-prj").text
    assert "星海科技" in co.chat.bot("fin1", "逾期", chat="grp-prj").text
    assert co.chat.bot("sales1", "unbind", chat="grp-prj").text.startswith("本群已解除绑定")
    assert co.count(ChatBinding, ChatBinding.active.is_(True)) == 0
    assert "没有找到" in co.chat.bot("sales2", "绑定 星海科技", chat="grp-x").text


def test_approve_in_a_group_chat(co: Co) -> None:
    said = co.chat.bot("mgr1", "approve so-2026-1 价格合理")
    assert "同意" in said.text
    with co.rt.db.transaction() as s:
        action = s.scalar(select(ApprovalAction).where(ApprovalAction.request_id == co.request_id))
        assert action is not None and action.comment == "价格合理"
    assert co.order("SO-2026-0001").status == "pending_approval"  # finance is next


def test_approve_by_card_in_a_group_greys_the_card_for_everyone(co: Co) -> None:
    clicked = co.chat.bot_click("mgr1", f"approve:{co.request_id}", task_id="appr-1")
    assert clicked.kind == "update_card" and clicked.card is not None
    assert "已同意" in clicked.card["main_title"]["title"]
    assert "userids" not in json.loads(clicked.raw)  # decided: every member's copy shows it
    asked = co.chat.bot_click("fin1", f"reject:{co.request_id}", task_id="appr-2")
    assert asked.card is not None and asked.card["card_type"] == "multiple_interaction"
    assert json.loads(asked.raw)["userids"] == ["fin1"]  # the reason picker is the clicker's


PNG = b"\x89PNG\r\n\x1a\n" + b"progress-photo" * 20


@responses.activate
def test_progress_with_a_photo_from_a_bot_mixed_message(co: Co) -> None:
    # D:100719: an @-mention with text and an image arrives as `mixed`; the image is fetched
    # from its URL and decrypted with the bot's key, then stored with the progress entry.
    url = "https://qyapi.weixin.qq.com/cgi-bin/aibot/image?code=p1"
    crypto = signing.crypto(co.chat.settings, "bot")
    responses.get(url, body=crypto.encrypt_file(PNG))
    plaintext = signing.bot_mixed_json("pm1", "进度 SO-2026-0002 现场已安装", [url], chat_id="g")
    said = co.chat._post(signing.seal(co.chat.settings, "bot", plaintext))
    assert said.text.startswith("已记录 SO-2026-0002 的进度(含 1 张图片)")
    with co.rt.db.transaction() as s:
        activity = s.scalar(select(Activity).where(Activity.kind == "progress"))
        assert activity is not None and activity.body == "现场已安装"
        [photo] = s.scalars(select(Attachment)).all()
        assert (photo.name, photo.size, photo.activity_id) == ("图片1.png", len(PNG), activity.id)
    expired = "https://qyapi.weixin.qq.com/cgi-bin/aibot/image?code=old"
    responses.get(expired, status=403)
    plaintext = signing.bot_mixed_json("pm1", "进度 SO-2026-0002 第二张", [expired], chat_id="g")
    again = co.chat._post(signing.seal(co.chat.settings, "bot", plaintext))
    assert "图片下载失败" in again.text
    with co.rt.db.transaction() as s:  # nothing recorded: the user sends it again
        assert len(s.scalars(select(Activity).where(Activity.kind == "progress")).all()) == 1
