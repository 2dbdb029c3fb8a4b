"""The router: normalisation, middleware chain, error handler, unknown users, channel guards."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import func, select

from orderdesk.bot.router import (
    BUSY_MESSAGE,
    CLIENT_GROUP_REFUSAL,
    GROUP_ONLY_MESSAGE,
    Context,
    Router,
)
from orderdesk.bot.router import router as global_router
from orderdesk.core.errors import ValidationFailed
from orderdesk.directory.staff import NOT_ENABLED
from orderdesk.models import Activity, Customer
from orderdesk.runtime import Runtime
from orderdesk.wecom.replies import TextReply
from tests.chat_world import bind, build_world, click, enter, text


@pytest.fixture
def world(rt: Runtime) -> None:
    with rt.db.transaction() as s:
        w = build_world(s)
        bind(s, "clientgrp", w.customers["yunqi"], "client")
        bind(s, "teamgrp", w.customers["yunqi"], "internal")


def reply_text(rt: Runtime, event: object) -> str:
    reply = global_router.dispatch(event, rt)  # type: ignore[arg-type]
    assert reply is not None
    content = getattr(reply, "content", None)
    assert isinstance(content, str)
    return content


@pytest.mark.usefixtures("world")
def test_unknown_or_inactive_user_gets_exactly_the_enable_message(rt: Runtime) -> None:
    for user in ("nobody", "gone"):
        for event in (text(user, "帮助"), text(user, "查 SO-2026-0001"), enter(user)):
            assert global_router.dispatch(event, rt) == TextReply(NOT_ENABLED)
        assert global_router.dispatch(click(user, "approve:1"), rt) == TextReply(NOT_ENABLED)


@pytest.mark.usefixtures("world")
def test_help_lists_commands_and_explains_one(rt: Runtime) -> None:
    listing = reply_text(rt, text("zhangsan", "帮助"))
    for word in ("查", "我的", "待审批", "批准", "驳回", "进度", "工时", "回款", "逾期", "绑定"):
        assert f"· {word}" in listing
    one = reply_text(rt, text("zhangsan", "help 回款"))
    assert "用法:回款 <订单号> <金额> [日期] [备注]" in one
    assert "例如:" in one
    assert "没有「飞」这个命令" in reply_text(rt, text("zhangsan", "帮助 飞"))


@pytest.mark.usefixtures("world")
def test_full_width_case_and_spacing_are_normalised(rt: Runtime) -> None:
    for typed in ("ＨＥＬＰ", "Help", "  help  ", "/help", "？", "帮助"):
        assert reply_text(rt, text("zhangsan", typed)).startswith("OrderDesk 命令"), typed


@pytest.mark.usefixtures("world")
def test_welcome_on_enter_names_the_top_commands(rt: Runtime) -> None:
    welcome = reply_text(rt, enter("zhangsan"))
    assert welcome.startswith("张三,你好!")
    assert "查 SO-2026-0001" in welcome and "待审批" in welcome


@pytest.mark.usefixtures("world")
def test_unknown_text_always_gets_a_hint(rt: Runtime) -> None:
    assert "发送「帮助」" in reply_text(rt, text("zhangsan", "今天天气怎么样"))
    assert "发送「帮助」" in reply_text(rt, text("zhangsan", ""))


@pytest.mark.usefixtures("world")
def test_unknown_card_key_gets_no_reply(rt: Runtime) -> None:
    assert global_router.dispatch(click("zhangsan", "mystery:1"), rt) is None


def _fresh_router() -> Router:
    r = Router()

    @r.command("炸", "boom")
    def boom(ctx: Context) -> TextReply:
        ctx.session.add(Customer(name="不该留下的客户"))
        ctx.session.flush()
        raise RuntimeError("kaboom")

    @r.command("拒", "deny", usage="拒 <x>", example="拒 1")
    def deny(ctx: Context) -> TextReply:
        ctx.session.add(Customer(name="也不该留下"))
        ctx.session.flush()
        raise ValidationFailed("不行就是不行")

    return r


@pytest.mark.usefixtures("world")
def test_unexpected_error_replies_with_a_reference_and_logs_it(
    rt: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    r = _fresh_router()
    with caplog.at_level(logging.ERROR, logger="orderdesk.bot.router"):
        reply = r.dispatch(text("zhangsan", "boom"), rt)
    assert isinstance(reply, TextReply)
    match = re.fullmatch(BUSY_MESSAGE.format(ref="([0-9A-F]{8})"), reply.content)
    assert match is not None
    ref = match.group(1)
    logged = [rec for rec in caplog.records if ref in rec.getMessage()]
    assert logged and logged[0].exc_info is not None  # the traceback is under the reference
    assert "kaboom" not in reply.content
    with rt.db.transaction() as s:  # rolled back
        assert s.scalar(select(func.count(Customer.id)).where(Customer.name.like("%不该%"))) == 0


@pytest.mark.usefixtures("world")
def test_domain_error_is_a_friendly_reply_and_rolls_back(rt: Runtime) -> None:
    reply = _fresh_router().dispatch(text("zhangsan", "拒 1"), rt)
    assert reply == TextReply("不行就是不行")
    with rt.db.transaction() as s:
        assert s.scalar(select(func.count(Customer.id)).where(Customer.name == "也不该留下")) == 0


@pytest.mark.usefixtures("world")
def test_client_group_refuses_changes_and_internal_lists(rt: Runtime) -> None:
    refused = [
        "批准 SO-2026-0001",
        "驳回 SO-2026-0001 太贵",
        "进度 SO-2026-0001 完成",
        "工时 SO-2026-0001 2",
        "回款 SO-2026-0001 100",
        "绑定 SO-2026-0003",
        "待审批",
        "我的",
    ]
    for typed in refused:
        with rt.db.transaction() as s:
            before = s.scalar(select(func.count(Activity.id)))
        assert reply_text(rt, text("boss", typed, group="clientgrp")) == CLIENT_GROUP_REFUSAL
        with rt.db.transaction() as s:
            assert s.scalar(select(func.count(Activity.id))) == before


@pytest.mark.usefixtures("world")
def test_card_clicks_are_refused_in_a_client_group(rt: Runtime) -> None:
    event = click("boss", "approve:1", chat_id="clientgrp", chat_type="group")
    assert global_router.dispatch(event, rt) == TextReply(CLIENT_GROUP_REFUSAL)


@pytest.mark.usefixtures("world")
def test_binding_commands_need_a_group(rt: Runtime) -> None:
    for typed in ("绑定 SO-2026-0001", "bind 云启", "解绑", "unbind"):
        assert reply_text(rt, text("zhangsan", typed)) == GROUP_ONLY_MESSAGE


@pytest.mark.usefixtures("world")
def test_glued_chinese_command_and_usage_on_missing_arguments(rt: Runtime) -> None:
    usage = reply_text(rt, text("zhangsan", "回款"))
    assert usage.startswith("请写上订单号和金额\n用法:回款")
    assert "例如:回款 SO-2026-0001 1.2万 昨天 首付款" in usage
    bad = reply_text(rt, text("zhaoliu", "回款SO-2026-0001 很多钱"))
    assert bad.startswith("金额「很多钱」看不懂")
    assert "用法:回款" in bad
    hours = reply_text(rt, text("zhoub", "工时 SO-2026-0001 25"))
    assert hours.startswith("工时必须大于 0 且不超过 24 小时")
