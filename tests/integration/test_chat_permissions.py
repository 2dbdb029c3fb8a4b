"""Permission matrix: role x command x scope, through the real router and services.

People (tests.approvals_world): sales1 owns SO-2026-0001 (in approval) and SO-2026-0002 (in
progress, PM pm1, delivery dev1); sales2 owns SO-2026-0003 (another customer); mgr1 manages both
sales people; fin1 is finance; boss is gm. Each test walks its whole row of the matrix against
one arranged company (setting a company up is the slow part)."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from orderdesk.bot.router import router
from orderdesk.models import Activity, ApprovalAction, Receipt, TimeEntry
from orderdesk.wecom.replies import CardReply, MarkdownReply, TextReply
from tests.chat_world import Co, company, text  # noqa: F401 - provides the `co` fixture

FOUND, MISSING = True, False


def say(co: Co, user: str, content: str) -> str:
    reply = router.dispatch(text(user, content), co.rt)
    if isinstance(reply, CardReply):
        return json.dumps(reply.card, ensure_ascii=False)
    assert isinstance(reply, TextReply | MarkdownReply), reply
    return reply.content


def test_order_lookup_scope(co: Co) -> None:
    matrix = [
        ("sales1", "SO-2026-0001", FOUND),
        ("sales2", "SO-2026-0001", MISSING),
        ("sales2", "SO-2026-0003", FOUND),
        ("sales1", "SO-2026-0003", MISSING),
        ("mgr1", "SO-2026-0003", FOUND),
        ("fin1", "SO-2026-0003", FOUND),
        ("boss", "SO-2026-0003", FOUND),
        ("pm1", "SO-2026-0002", FOUND),
        ("pm1", "SO-2026-0001", MISSING),
        ("dev1", "SO-2026-0001", MISSING),
    ]
    for user, number, found in matrix:
        answer = say(co, user, f"查 {number}")
        if found:
            assert f'"{number}' in answer, (user, number)  # the card's title
            continue
        # Out of scope reads exactly like a wrong number and suggests nothing out of scope.
        head, _, suggestions = answer.partition("\n")
        assert head.startswith(f"没有找到「{number}」"), (user, number)
        assert number not in suggestions


def test_money_on_the_order_card(co: Co) -> None:
    for user, sees_money in [
        ("sales1", True),
        ("mgr1", True),
        ("fin1", True),
        ("boss", True),
        ("pm1", False),
    ]:
        answer = say(co, user, "查 SO-2026-0002")
        assert ("¥100,000.00" in answer) is sees_money, user
        assert ("仅相关人员可见" in answer) is not sees_money, user
        assert ("回款:" in answer) is sees_money, user


def test_only_finance_records_receipts(co: Co) -> None:
    for user in ["sales1", "mgr1", "boss", "pm1", "dev1"]:
        assert say(co, user, "回款 SO-2026-0002 100") == "此操作需要以下角色之一:财务", user
    assert co.count(Receipt) == 0
    assert say(co, "fin1", "回款 SO-2026-0002 100").startswith("已登记")
    assert co.count(Receipt) == 1


def test_hours_only_for_the_project_people(co: Co) -> None:
    for user in ["sales2", "fin1"]:
        assert not say(co, user, "工时 SO-2026-0002 1").startswith("已记录工时"), user
    assert co.count(TimeEntry) == 0
    for user in ["pm1", "dev1"]:
        assert say(co, user, "工时 SO-2026-0002 1").startswith("已记录工时"), user
    assert co.count(TimeEntry) == 2


def test_only_the_current_approver_decides(co: Co) -> None:
    for user in ["sales1", "sales2", "fin1", "pm1", "dev1"]:
        assert "已同意" not in say(co, user, "批准 SO-2026-0001"), user
    assert co.count(ApprovalAction) == 0
    assert "同意" in say(co, "mgr1", "批准 SO-2026-0001")
    assert co.count(ApprovalAction) == 1


def test_overdue_shows_only_what_i_may_see(co: Co) -> None:
    for user, sees in [
        ("fin1", True),
        ("boss", True),
        ("sales1", True),
        ("mgr1", True),
        ("sales2", False),
        ("pm1", False),  # manages the project, but money is not theirs to see
    ]:
        answer = say(co, user, "逾期")
        assert ("星海科技" in answer) is sees, user
        if not sees:
            assert answer == "没有逾期的应收款"


def test_progress_needs_the_order_in_scope(co: Co) -> None:
    assert say(co, "sales2", "进度 SO-2026-0001 乱写").startswith("找不到订单")
    with co.rt.db.transaction() as s:
        assert s.scalar(select(func.count(Activity.id)).where(Activity.kind == "progress")) == 0
