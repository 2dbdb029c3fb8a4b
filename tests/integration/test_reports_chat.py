"""Chat commands of the reports (issue 13): 账龄 and 报表 / 回款率 answer with the caller's own
figures, refuse bad arguments, and say nothing internal in a client group."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from orderdesk.bot.router import CLIENT_GROUP_REFUSAL
from orderdesk.bot.router import router as global_router
from orderdesk.core import clock
from orderdesk.money.plans import generate_plan
from orderdesk.runtime import Runtime
from tests.chat_world import bind, build_world, text
from tests.money_world import contract_of, order_with_contract

NOW = datetime(2026, 6, 30, 4, 0, tzinfo=UTC)


@pytest.fixture
def world(rt: Runtime) -> None:
    with rt.db.transaction() as s:
        w = build_world(s)
        bind(s, "clientgrp", w.customers["yunqi"], "client")
        for number, owner, amount, due in (
            ("SO-9001", "zhangsan", "1000.00", "2026-06-10"),  # 20 days overdue
            ("SO-9002", "lisi", "300.00", "2026-01-01"),  # 180 days overdue
        ):
            o = order_with_contract(
                s,
                owner=w.staff[owner],
                amount=amount,
                number=number,
                signed=date(2026, 6, 1),
                terms=[{"amount": amount, "trigger": "on_date", "date": due}],
            )
            generate_plan(s, contract=contract_of(o), order=o)


def reply(rt: Runtime, user: str, content: str, group: str | None = None) -> str:
    with clock.frozen(NOW):
        answer = global_router.dispatch(text(user, content, group=group), rt)
    body = getattr(answer, "content", None)
    assert isinstance(body, str)
    return body


@pytest.mark.usefixtures("world")
def test_aging_is_scoped_and_grouped(rt: Runtime) -> None:
    mine = reply(rt, "zhangsan", "账龄")
    assert "合计 ¥1,000.00" in mine and "1-30天:¥1,000.00" in mine
    assert "客户-SO-9002" not in mine  # lisi's customer
    everyone = reply(rt, "zhaoliu", "aging 负责人")
    assert "合计 ¥1,300.00" in everyone and "91-180天:¥300.00" in everyone
    assert "李四 ¥300.00" in everyone
    assert "账龄可按" in reply(rt, "zhaoliu", "账龄 星球")


@pytest.mark.usefixtures("world")
def test_revenue_by_period_words_and_quarters(rt: Runtime) -> None:
    june = reply(rt, "boss", "报表 本月")
    assert "2026-06" in june and "签约 ¥1,300.00" in june and "应收 ¥1,000.00" in june
    assert "回款率 0.0%" in june
    quarter = reply(rt, "boss", "回款率 2026q2")  # SO-9002 fell due in Q1
    assert "2026Q2" in quarter and "应收 ¥1,000.00" in quarter
    assert "应收 ¥1,300.00" in reply(rt, "boss", "回款率 2026")
    assert "签约 ¥1,000.00" in reply(rt, "zhangsan", "report")  # own orders only
    assert "无法识别的期间" in reply(rt, "boss", "报表 明年")


@pytest.mark.usefixtures("world")
def test_nothing_internal_in_a_client_group(rt: Runtime) -> None:
    for typed in ("账龄", "报表 本月", "回款率 2026Q2"):
        assert reply(rt, "boss", typed, group="clientgrp") == CLIENT_GROUP_REFUSAL
