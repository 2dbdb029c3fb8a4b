"""The admin pages, delegation and the simulator's job buttons in a real browser (Debian's
Chromium via Playwright), phone 375x812 and desktop 1280x800. Skipped without /usr/bin/chromium
unless CI=true (then required), like tests/e2e/test_web_browser.py whose fixtures these reuse."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from rq import SimpleWorker
from sqlalchemy.orm import Session

from orderdesk.approvals import service as approvals
from orderdesk.core import clock
from orderdesk.jobqueue import QUEUES
from orderdesk.models import Order, OrderType
from orderdesk.runtime import Runtime
from orderdesk.settings import Settings
from tests.api_world import World

# Skips this module too when Chromium is missing (and fails it under CI=true).
from tests.e2e.test_web_browser import (  # the browser, server and screenshot fixtures
    DESKTOP,
    PHONE,
    Tab,
    base_url,
    browser,
    screens,
    world,
)

__all__ = ["base_url", "browser", "screens", "world"]  # fixtures, used by name


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Today is a working day here, so the morning digest has something to say whatever the date.
    return dataclasses.replace(settings, workdays=clock.today(settings.tz).isoformat())


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_admin_adds_a_custom_field_and_sees_it_on_the_order_form(
    browser: Browser,
    base_url: str,
    world: World,
    session: Session,
    screens: Path,
    viewport: dict[str, int],
) -> None:
    tab = Tab(browser, base_url, viewport)
    tab.login("admin", "/m/")
    tab.press("a:has-text('管理')")
    tab.press("a:has-text('订单类型与自定义字段')")
    tab.press("a:has-text('impl')")
    tab.page.fill("#f_key", "site")
    tab.page.fill("#f_label", "实施地点")
    tab.page.select_option("#f_type", "enum")
    tab.page.check("input[name=required]")
    tab.page.fill("#f_options", "上海,北京")
    tab.press("button:has-text('预览改动') >> nth=0")
    diff = tab.page.inner_text("pre.diff")
    assert "+- key: site" in diff.replace("  ", " ") or "key: site" in diff
    tab.page.screenshot(path=str(screens / f"admin-preview-{viewport['width']}.png"))
    tab.press("button:has-text('确认保存')")
    assert "已保存" in tab.page.inner_text("body")
    session.expire_all()
    schema = session.query(OrderType).filter_by(code="impl").one().field_schema
    assert schema == [
        {
            "key": "site",
            "label": "实施地点",
            "type": "enum",
            "required": True,
            "options": ["上海", "北京"],
        }
    ]
    number = world.o2.number
    tab.go(f"/m/orders/{number}")
    tab.page.select_option("#cf_site", "北京")
    tab.press("button:has-text('保存字段')")
    session.expire_all()
    order = session.query(Order).filter_by(number=number).one()
    assert order.custom_fields == {"site": "北京"}
    assert "北京" in tab.page.inner_text("body")
    assert tab.go("/m/admin/calendar?month=2026-10") == 200
    assert "法定假日" in tab.page.inner_text("body")
    tab.page.screenshot(path=str(screens / f"admin-calendar-{viewport['width']}.png"))
    assert tab.errors == []
    tab.close()


def test_delegation_set_and_the_delegate_sees_the_approval(
    browser: Browser, base_url: str, world: World, session: Session, rt: Runtime, screens: Path
) -> None:
    number = world.o2.number
    approvals.submit(session, actor=world["sales2"], number=number)
    session.commit()
    today = clock.today(rt.settings.tz)
    boss = Tab(browser, base_url, PHONE)
    boss.login("mgr1", "/m/approvals")
    boss.press("a:has-text('我不在时')")
    boss.page.select_option("#substitute", "mgr2")
    boss.page.fill("#starts_on", today.isoformat())
    boss.page.fill("#ends_on", (today + timedelta(days=5)).isoformat())
    boss.page.fill("#reason", "年假")
    boss.press("button:has-text('保存委托')")
    assert "mgr2名" in boss.page.inner_text(".list")
    boss.page.screenshot(path=str(screens / "phone-delegation.png"), full_page=True)
    delegate = Tab(browser, base_url, DESKTOP)
    delegate.login("mgr2", "/m/approvals")
    body = delegate.page.inner_text("body")
    assert number in body and "代 mgr1名 审批" in body
    boss.press("button:has-text('提前结束委托')")
    assert "没有委托" in boss.page.inner_text("body")
    delegate.go("/m/approvals")
    assert number not in delegate.page.inner_text("body")
    assert boss.errors == [] and delegate.errors == []
    boss.close()
    delegate.close()


def test_sim_trigger_makes_the_morning_digest_appear(
    browser: Browser, base_url: str, world: World, rt: Runtime, screens: Path
) -> None:
    tab = Tab(browser, base_url, DESKTOP)
    tab.go("/sim?as=sales1")
    assert "今日回款提醒" not in tab.page.inner_text("body")
    tab.press("button[value='money.morning_digest']")
    if rt.redis is not None:  # the run waits in RQ for a worker; then the page shows it
        SimpleWorker([rt.queue.rq_queue(q) for q in QUEUES], connection=rt.redis).work(burst=True)
        tab.page.reload()
    body = tab.page.inner_text("body")
    assert "已触发" in body and "今日回款提醒" in body
    tab.page.screenshot(path=str(screens / "desktop-sim-digest.png"), full_page=True)
    assert tab.errors == []
    tab.close()
