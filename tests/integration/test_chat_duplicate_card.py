"""回款 that looks like a duplicate: a card whose 确认登记 button records it once; a second
click, or a click after the same money was confirmed by typing, records nothing more."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orderdesk.bot.router import router
from orderdesk.models import Receipt
from orderdesk.money.ledger import check_ledger
from orderdesk.runtime import Runtime
from orderdesk.wecom.replies import CardReply, UpdateCardReply
from tests.api_world import World, build
from tests.chat_world import click, text


@pytest.fixture
def world(session: Session) -> World:
    w = build(session)
    session.commit()
    return w


def receipts(rt: Runtime) -> int:
    with rt.db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(Receipt)) or 0)


def duplicate_card(rt: Runtime, typed: str) -> dict[str, Any]:
    reply = router.dispatch(text("fin", typed), rt)
    assert isinstance(reply, CardReply), reply
    return reply.card


def confirm_key(card: dict[str, Any]) -> str:
    [button] = card["button_list"]
    assert button["text"] == "确认登记"
    key: str = button["key"]
    return key


def test_the_button_records_the_receipt_once(rt: Runtime, world: World) -> None:
    no = world.o1.number
    router.dispatch(text("fin", f"回款 {no} 1000 首付"), rt)
    card = duplicate_card(rt, f"回款 {no} 1000 首付")
    assert card["main_title"]["title"] == "可能重复,确认登记?"
    assert receipts(rt) == 1
    key = confirm_key(card)
    done = router.dispatch(click("fin", key, task_id=card["task_id"]), rt)
    assert isinstance(done, UpdateCardReply) and done.card is not None
    assert done.card["sub_title_text"].startswith(f"已登记 {no} 回款 ¥1,000.00")
    assert receipts(rt) == 2
    again = router.dispatch(click("fin", key, task_id=card["task_id"]), rt)
    assert isinstance(again, UpdateCardReply) and "已确认登记过" in (again.replace_name or "")
    assert receipts(rt) == 2
    with rt.db.transaction() as s:
        assert check_ledger(s) == []


def test_typed_confirmation_spends_the_card(rt: Runtime, world: World) -> None:
    no = world.o1.number
    router.dispatch(text("fin", f"回款 {no} 800"), rt)
    card = duplicate_card(rt, f"回款 {no} 800")
    router.dispatch(text("fin", f"回款 {no} 800 确认"), rt)
    assert receipts(rt) == 2
    late = router.dispatch(click("fin", confirm_key(card), task_id=card["task_id"]), rt)
    assert isinstance(late, UpdateCardReply) and "已确认登记过" in (late.replace_name or "")
    assert receipts(rt) == 2


def test_only_finance_and_a_broken_key_changes_nothing(rt: Runtime, world: World) -> None:
    no = world.o1.number
    router.dispatch(text("fin", f"回款 {no} 500"), rt)
    key = confirm_key(duplicate_card(rt, f"回款 {no} 500"))
    denied = router.dispatch(click("sales1", key), rt)
    assert "此操作需要以下角色之一" in str(getattr(denied, "content", ""))
    broken = router.dispatch(click("fin", "rcdup:x|y"), rt)
    assert "卡片已失效" in str(getattr(broken, "content", ""))
    assert receipts(rt) == 1
