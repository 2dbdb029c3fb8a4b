"""A group bound to an order: `查`, `进度`, `工时` and `回款` act on the bound order without its
number (signed bot callbacks through the Flask app); an explicit number still wins."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from orderdesk.models import Activity, Order, Receipt, TimeEntry
from tests.chat_world import Co, company  # noqa: F401 - provides the `co` fixture

GROUP = "grp-bound"


def _bind(co: Co) -> None:
    said = co.chat.bot("sales1", "绑定 SO-2026-0002", chat=GROUP)
    assert said.text.startswith("本群已绑定 SO-2026-0002")


def test_query_without_a_number_shows_the_bound_order(co: Co) -> None:
    assert co.chat.bot("sales1", "查", chat=GROUP).text.startswith("请告诉我要查什么")
    _bind(co)
    md = co.chat.bot("sales1", "查", chat=GROUP).text
    assert "**SO-2026-0002**" in md
    other = co.chat.bot("sales1", "查 SO-2026-0001", chat=GROUP).text
    assert "**SO-2026-0001**" in other and "SO-2026-0002" not in other


def test_progress_and_hours_land_on_the_bound_order(co: Co) -> None:
    _bind(co)
    said = co.chat.bot("pm1", "进度 完成联调", chat=GROUP).text
    assert said.startswith("已记录 SO-2026-0002 的进度")
    hours = co.chat.bot("pm1", "工时 2 数据字典梳理", chat=GROUP).text
    assert hours.startswith("已记录工时 2.00 小时") and "SO-2026-0002" in hours
    with co.rt.db.transaction() as s:
        order = s.scalar(select(Order).where(Order.number == "SO-2026-0002"))
        assert order is not None and order.project is not None
        bodies = s.scalars(
            select(Activity.body).where(Activity.kind == "progress", Activity.order_id == order.id)
        ).all()
        assert bodies == ["完成联调"]
        entry = s.scalars(select(TimeEntry)).one()
        assert entry.project_id == order.project.id
        assert entry.hours == Decimal("2.00") and entry.note == "数据字典梳理"


def test_receipt_in_a_bound_group_and_an_explicit_number_wins(co: Co) -> None:
    _bind(co)
    done = co.chat.bot("fin1", "回款 3万", chat=GROUP).text
    assert done.startswith("已登记 SO-2026-0002 回款 ¥30,000.00")
    explicit = co.chat.bot("fin1", "回款 SO-2026-0001 100", chat=GROUP).text
    # SO-2026-0001 is still in approval: the explicit number was used, not the bound order.
    assert "SO-2026-0002" not in explicit
    with co.rt.db.transaction() as s:
        assert s.scalars(select(Receipt.amount)).all() == [Decimal("30000.00")]


def test_without_a_binding_the_number_is_still_needed(co: Co) -> None:
    said = co.chat.bot("pm1", "工时 2 数据字典梳理", chat="grp-unbound").text
    assert "2" in said and not said.startswith("已记录")
    assert co.chat.bot("fin1", "回款 3万", chat="grp-unbound").text.startswith("请写上订单号和金额")
    with co.rt.db.transaction() as s:
        assert s.scalars(select(Receipt)).all() == []


def test_delivery_staff_see_their_projects_orders_without_money_and_log_progress(co: Co) -> None:
    # dev1 owns a task of SO-2026-0002's project (not of SO-2026-0003's).
    card = co.chat.app("dev1", "查 SO-2026-0002").card
    assert card is not None and card["main_title"]["title"].startswith("SO-2026-0002")
    assert "¥100,000.00" not in str(card) and "回款" not in card.get("sub_title_text", "")
    said = co.chat.app("dev1", "进度 SO-2026-0002 完成联调").text
    assert said.startswith("已记录 SO-2026-0002 的进度")
    assert "没有找到" in co.chat.app("dev1", "查 SO-2026-0003").text
    refused = co.chat.app("dev1", "进度 SO-2026-0003 完成联调").text
    assert not refused.startswith("已记录") and "月湖" not in refused
