"""Card builders: limits are respected and nothing that changes meaning is dropped silently."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderdesk.settings import Settings
from orderdesk.wecom import cards


def _nbytes(text: str) -> int:
    return len(text.encode("utf-8"))


@given(st.text(max_size=400), st.integers(min_value=0, max_value=300))
def test_truncate_bytes_never_splits_a_character(text: str, limit: int) -> None:
    out = cards.truncate_bytes(text, limit)
    assert _nbytes(out) <= limit
    if _nbytes(text) <= limit:
        assert out == text
    elif limit >= 3:
        assert out.endswith("…")
        assert text.startswith(out[:-1])


def test_truncate_bytes_cjk_boundary() -> None:
    # 4 CJK chars = 12 bytes; a 10-byte budget leaves 7 bytes -> 2 chars + "…" (9 bytes).
    assert cards.truncate_bytes("订单审批", 10) == "订单…"
    assert cards.truncate_bytes("订单审批", 12) == "订单审批"
    assert cards.truncate_bytes("订单", 2) == ""


@pytest.mark.parametrize(
    "raw",
    ["appr-12", "a" * 128, "SO-2026-0001@x_y", "订单:SO 1", "x" * 300, "", "a.b", "a:b"],
)
def test_safe_task_id(raw: str) -> None:
    out = cards.safe_task_id(raw)
    assert re.fullmatch(r"[0-9a-zA-Z_\-@]{1,128}", out)


def test_safe_task_id_keeps_valid_ids_and_separates_cleaned_ones() -> None:
    assert cards.safe_task_id("appr-42") == "appr-42"
    assert cards.safe_task_id("a.b") != cards.safe_task_id("a:b")
    assert cards.safe_task_id("x" * 300) != cards.safe_task_id("x" * 301)


def test_button_interaction_shape_and_limits() -> None:
    card = cards.button_interaction(
        task_id="appr-7",
        title="订单审批 " + "很长的标题" * 20,
        desc="客户 华为",
        fields=[("金额", "¥120,000.00"), ("客户", "上海某某科技有限公司" * 5)] * 5,
        buttons=[("同意", "approve:7", cards.STYLE_PRIMARY), ("驳回", "reject:7", 3)],
    )
    assert card["card_type"] == "button_interaction"
    assert card["task_id"] == "appr-7"
    assert _nbytes(card["main_title"]["title"]) <= cards.TITLE_MAX
    assert len(card["horizontal_content_list"]) == 6
    for row in card["horizontal_content_list"]:
        assert _nbytes(row["value"]) <= cards.VALUE_MAX
    assert [b["key"] for b in card["button_list"]] == ["approve:7", "reject:7"]
    assert card["button_list"][1]["style"] == 3
    json.dumps(card)  # plain JSON-serialisable dict


def test_button_interaction_refuses_what_would_change_meaning() -> None:
    seven = [(f"b{i}", f"k{i}") for i in range(7)]
    with pytest.raises(ValueError):
        cards.button_interaction(task_id="t", title="x", buttons=seven)
    with pytest.raises(ValueError):
        cards.button_interaction(task_id="t", title="x", buttons=[("a", "k" * 1025)])
    with pytest.raises(ValueError):
        cards.button_interaction(task_id="t", title="x", buttons=[("a", "k"), ("b", "k")])
    with pytest.raises(ValueError):
        cards.button_interaction(task_id="t", title="x", buttons=[])
    ok = cards.button_interaction(task_id="t", title="x", buttons=[("a", "键" * 341)])
    assert _nbytes(ok["button_list"][0]["key"]) == 1023


def test_text_notice_always_has_card_action() -> None:
    card = cards.text_notice(task_id="n 1", title="回款提醒", emphasis=("¥3,000.00", "逾期"))
    assert card["card_action"]["type"] == 1
    assert card["emphasis_content"]["title"] == "¥3,000.00"
    assert re.fullmatch(r"[0-9a-zA-Z_\-@]+", card["task_id"])


def test_multiple_interaction() -> None:
    sel = cards.Select(
        question_key="owner",
        title="负责人",
        options=[cards.Option("u1", "张三"), cards.Option("u2", "李四")],
        selected_id="u1",
    )
    card = cards.multiple_interaction(
        task_id="assign-1", title="指派", selects=[sel], submit_text="提交", submit_key="assign:1"
    )
    assert card["select_list"][0]["option_list"][1] == {"id": "u2", "text": "李四"}
    assert card["submit_button"] == {"text": "提交", "key": "assign:1"}
    with pytest.raises(ValueError):
        cards.multiple_interaction(
            task_id="t", title="x", selects=[sel] * 4, submit_text="a", submit_key="b"
        )
    many = cards.Select("q", "t", [cards.Option(str(i), "x") for i in range(11)])
    with pytest.raises(ValueError):
        cards.multiple_interaction(
            task_id="t", title="x", selects=[many], submit_text="a", submit_key="b"
        )


def test_link_target_with_and_without_appid() -> None:
    with_app = Settings(miniapp_appid="wx123")
    jump = cards.order_jump(with_app, "SO-2026-0001")
    assert jump == {"type": 2, "appid": "wx123", "pagepath": "pages/order/detail?no=SO-2026-0001"}
    assert cards.approval_jump(with_app, 9)["pagepath"] == "pages/approval/detail?id=9"
    h5 = Settings(extra={"ORDERDESK_PUBLIC_URL": "https://od.example.com/"})
    assert cards.order_jump(h5, "SO 1") == {
        "type": 1,
        "url": "https://od.example.com/m/orders/SO%201",
    }
    assert cards.approval_jump(h5, 9)["url"] == "https://od.example.com/m/approvals/9"
    assert cards.link_target(h5, "approval", 9) == cards.approval_jump(h5, 9)


def test_message_bodies_truncate_to_platform_limits() -> None:
    long = "汉" * 2000
    assert _nbytes(cards.app_text(long)["text"]["content"]) <= 2048
    assert _nbytes(cards.app_markdown(long)["markdown"]["content"]) <= 2048
    assert _nbytes(cards.webhook_markdown(long)["markdown"]["content"]) <= 4096
    body = cards.app_template_card(cards.text_notice(task_id="t", title="x"))
    assert body["msgtype"] == "template_card"
