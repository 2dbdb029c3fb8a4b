"""`任务`: list a project's tasks and add one with an owner and a due date (signed callbacks)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from orderdesk.models import Activity, Order, Task
from tests.chat_world import Co, company  # noqa: F401 - provides the `co` fixture


def test_pm_adds_a_task_with_owner_and_due_date_and_it_is_listed(co: Co) -> None:
    said = co.chat.app("pm1", "任务 SO-2026-0002 新增 数据迁移 @周交付 2026-12-20").text
    assert said == "已新增任务「数据迁移」,负责人 周交付,截止 2026-12-20"
    listing = co.chat.app("dev1", "task SO-2026-0002").text
    assert "· 数据迁移(待办,周交付 截止 2026-12-20)" in listing
    with co.rt.db.transaction() as s:
        order = s.scalar(select(Order).where(Order.number == "SO-2026-0002"))
        assert order is not None and order.project is not None
        task = s.scalars(select(Task).where(Task.title == "数据迁移")).one()
        assert task.project_id == order.project.id and task.due_date == date(2026, 12, 20)
        assert task.owner is not None and task.owner.userid == "dev1"
        bodies = s.scalars(select(Activity.body).where(Activity.kind == "task")).all()
        assert "新增任务「数据迁移」,负责人 周交付,截止 2026-12-20" in bodies


def test_in_a_bound_group_the_project_is_implied(co: Co) -> None:
    assert co.chat.bot("sales1", "绑定 SO-2026-0002", chat="grp-b").text.startswith("本群已绑定")
    # In a group a trailing @mention is taken for the bot's: the due date comes last.
    said = co.chat.bot("pm1", "任务 新增 接口联调 @dev1 2026-12-01", chat="grp-b").text
    assert said == "已新增任务「接口联调」,负责人 周交付,截止 2026-12-01"
    assert "接口联调" in co.chat.bot("pm1", "任务", chat="grp-b").text


def test_only_the_pm_or_managers_add_and_strangers_see_nothing(co: Co) -> None:
    denied = co.chat.app("dev1", "任务 SO-2026-0002 新增 偷偷加的").text
    assert "项目经理" in denied
    assert "找不到" in co.chat.app("sales2", "任务 SO-2026-0002").text
    assert "找不到同事" in co.chat.app("pm1", "任务 SO-2026-0002 新增 培训 @不存在的人").text
    assert co.count(Task, Task.title.in_(["偷偷加的", "培训"])) == 0
