"""An unknown command suggests the closest registered ones, read from the router's command table
(so commands other modules register are suggested without a list kept anywhere)."""

from __future__ import annotations

import pytest

from orderdesk.bot.router import Context, Router
from orderdesk.runtime import Runtime
from orderdesk.wecom.replies import TextReply
from tests.chat_world import Co, build_world, company, text  # noqa: F401 - `co` fixture


def test_near_misses_get_the_closest_commands_through_signed_callbacks(co: Co) -> None:
    said = co.chat.app("sales1", "应收").text
    assert said.startswith("没看懂「应收」")
    # The closest registered commands (read from the router's table, so the list grows with it).
    suggested = said.rsplit("你是不是想找:", 1)[1].split(" / ")
    assert {"回款", "逾期"} <= set(suggested) and len(suggested) <= 3
    assert "你是不是想找:回款" in co.chat.bot("fin1", "收款").text
    assert "你是不是想找:逾期" in co.chat.app("sales1", "帮我看下逾期").text
    assert "你是不是想找:帮助" in co.chat.app("sales1", "hlep").text
    assert "你是不是想找:工时" in co.chat.bot("dev1", "工作时间").text


def test_nonsense_gets_only_the_help_hint(co: Co) -> None:
    said = co.chat.app("sales1", "今天天气怎么样").text
    assert "你是不是想找" not in said and "发送「帮助」" in said
    assert "你是不是想找" not in co.chat.app("sales1", "合同").text  # 同 is not 同意


@pytest.fixture
def world(rt: Runtime) -> None:
    with rt.db.transaction() as s:
        build_world(s)


@pytest.mark.usefixtures("world")
def test_a_command_registered_elsewhere_is_suggested_too(rt: Runtime) -> None:
    r = Router()

    @r.command("开票", "invoice", summary="财务开具发票")
    def invoice(ctx: Context) -> TextReply:  # pragma: no cover - never matched here
        return TextReply("")

    @r.command("逾期", "overdue", summary="逾期应收")
    def overdue(ctx: Context) -> TextReply:  # pragma: no cover - never matched here
        return TextReply("")

    reply = r.dispatch(text("zhangsan", "发票"), rt)
    assert isinstance(reply, TextReply) and reply.content.endswith("你是不是想找:开票")
    reply = r.dispatch(text("zhangsan", "invoce"), rt)
    assert isinstance(reply, TextReply) and reply.content.endswith("你是不是想找:开票")
