"""The H5 pages in a real browser (Debian's Chromium driven by Playwright).

Phone (375x812) and desktop (1280x800). Without /usr/bin/chromium a local run skips these
tests and says so; with CI=true they are required (like PostgreSQL).
Screenshots go to a folder the run prints (not committed).
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from orderdesk.approvals import service as approvals
from orderdesk.directory.permissions import can_see_money
from orderdesk.models import ApprovalRequest, Order, Receipt
from tests.api_world import World, build

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 800}
MAX_PAGES = 60
MAX_PAGE_BYTES = 100_000
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

if not os.path.exists(CHROMIUM):
    if os.environ.get("CI", "").lower() == "true":
        raise RuntimeError(f"CI=true: the browser tests need {CHROMIUM} (apt-get install chromium)")
    pytest.skip(
        f"browser tests skipped: {CHROMIUM} not found (apt-get install chromium)",
        allow_module_level=True,
    )

from playwright.sync_api import Browser, FilePayload, Page, sync_playwright  # noqa: E402


def _cjk_fontconfig(folder: Path) -> dict[str, str | float | bool]:
    """A fontconfig that adds the packaged Noto Sans CJK (the charts' font) to the system's:
    a machine without a CJK font would otherwise screenshot every Chinese glyph as a box."""
    from noto_cjk_sans_otc import FONT_PATH

    conf = folder / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        '<include ignore_missing="yes">/etc/fonts/fonts.conf</include>'
        f"<dir>{Path(FONT_PATH).parent}</dir><cachedir>{folder}</cachedir></fontconfig>"
    )
    return {**os.environ, "FONTCONFIG_FILE": str(conf)}


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    env = _cjk_fontconfig(tmp_path_factory.mktemp("fonts"))
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, env=env)
        yield b
        b.close()


@pytest.fixture(scope="module")
def screens(request: pytest.FixtureRequest) -> Path:
    # Outside pytest's basetemp, which keeps only the last 3 runs (of anyone on the machine).
    folder = Path(os.environ.get("WEB_SCREENSHOTS") or tempfile.mkdtemp(prefix="orderdesk-web-"))
    folder.mkdir(parents=True, exist_ok=True)
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"\nbrowser screenshots: {folder}")
    return folder


@pytest.fixture
def world(session: Session) -> World:
    return build(session)


@pytest.fixture
def base_url(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


class Tab:
    """A browser tab that records console errors and every HTTP status it saw."""

    def __init__(self, browser: Browser, base: str, viewport: dict[str, int]) -> None:
        self.context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
        self.page: Page = self.context.new_page()
        self.base = base
        self.errors: list[str] = []
        # Our CSS + JS, as every page loads them (counted once for the page weight rule).
        self.assets = sum(
            len(self.context.request.get(f"{base}/m/static/{name}").body())
            for name in ("app.css", "app.js")
        )
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def go(self, path: str) -> int:
        res = self.page.goto(self.base + path)
        assert res is not None
        return res.status

    def login(self, userid: str, path: str = "/m/") -> None:
        self.go(f"/m/login?next={path}")
        self.page.select_option("#userid", userid)
        self.press("button[type=submit]")

    def press(self, selector: str) -> None:
        """Click a submit button and wait for the page it leads to."""
        with self.page.expect_navigation():
            self.page.click(selector)

    def close(self) -> None:
        self.context.close()


def _submit_o2(session: Session, world: World) -> ApprovalRequest:
    req = approvals.submit(session, actor=world["sales2"], number=world.o2.number)
    session.commit()
    return req


def test_manager_approves_from_the_card_link_on_a_phone(
    browser: Browser, base_url: str, world: World, session: Session, screens: Path
) -> None:
    req = _submit_o2(session, world)
    tab = Tab(browser, base_url, PHONE)
    tab.login("mgr1", f"/m/approvals/{req.id}")  # the card's link: login, then back to it
    assert tab.page.url.endswith(f"/m/approvals/{req.id}")
    tab.page.screenshot(path=str(screens / "phone-approval.png"), full_page=True)
    tab.page.click("button[data-needs-comment]")  # reject without a reason: the page says so
    assert tab.page.url.endswith(f"/m/approvals/{req.id}")
    tab.page.fill("#comment", "同意,按期推进")
    tab.press("button:has-text('同意')")
    assert "已通过" in tab.page.content()
    session.expire_all()
    assert session.get(Order, world.o2.id).status == "approved"  # type: ignore[union-attr]
    tab.go(f"/m/orders/{world.o1.number}")
    tab.page.screenshot(path=str(screens / "phone-order-detail.png"), full_page=True)
    assert tab.errors == []
    tab.close()


def test_pm_logs_progress_with_a_photo_and_hours(
    browser: Browser, base_url: str, world: World, session: Session, screens: Path
) -> None:
    no = world.o1.number
    tab = Tab(browser, base_url, PHONE)
    tab.login("pm1", f"/m/orders/{no}")
    tab.page.fill("#text", "现场照片已上传")
    tab.page.set_input_files(
        "#files",
        files=FilePayload(name="site.png", mimeType="image/png", buffer=PNG),
    )
    tab.press("button:has-text('提交进展')")
    tab.page.fill("input[name=hours]", "3")
    tab.press("button:has-text('登记')")
    body = tab.page.inner_text("body")
    assert "现场照片已上传" in body and "site.png" in body and "3 小时" in body
    assert "¥" not in body  # a PM of the project does not see the order's money
    tab.page.screenshot(path=str(screens / "phone-order-progress.png"), full_page=True)
    assert tab.errors == []
    tab.close()


def test_simulator_walk(
    browser: Browser, base_url: str, world: World, session: Session, screens: Path
) -> None:
    req = _submit_o2(session, world)
    tab = Tab(browser, base_url, DESKTOP)
    tab.go("/sim?as=mgr1")
    tab.page.fill("input[name=text]", f"查 {world.o1.number}")
    tab.press("button:has-text('发送')")
    assert "云启" in tab.page.inner_text(".bubble-app")
    tab.page.fill("input[name=text]", "待审批")
    tab.press("button:has-text('发送')")
    tab.page.screenshot(path=str(screens / "desktop-sim.png"), full_page=True)
    with tab.page.expect_navigation():
        tab.page.locator(".wcard button", has_text="同意").first.click()
    session.expire_all()
    assert session.get(ApprovalRequest, req.id).status == "approved"  # type: ignore[union-attr]
    tab.page.fill("input[name=text]", "逾期")
    tab.press("button:has-text('发送')")
    assert tab.page.locator(".bubble-me").count() >= 1
    assert tab.errors == []
    tab.close()


def _money_rule(session: Session, world: World, userid: str) -> dict[str, bool]:
    """For each order number: may this person see its money?"""
    actor = world[userid]
    return {o.number: can_see_money(actor, o) for o in session.query(Order).all()}


def _is_download(path: str) -> bool:
    return "format=" in path


def _links(tab: Tab) -> list[str]:
    hrefs: list[Any] = tab.page.eval_on_selector_all(
        # File downloads (a[download], e.g. import templates) are not pages to crawl.
        "a[href]:not([download])",
        "els => els.map(e => e.getAttribute('href'))",
    )
    out = []
    for href in hrefs:
        if href.startswith(tab.base):
            href = href[len(tab.base) :]
        if href.startswith("/") and not href.startswith("/m/static"):
            out.append(href)
    return out


def _crawl(tab: Tab, start: str) -> dict[str, tuple[int, str]]:
    """Every same-site page reachable by links from `start`: path -> (status, text).
    Downloads (?format=xlsx) are fetched, not opened: their status counts, not their text."""
    seen: dict[str, tuple[int, str]] = {}
    todo = [start]
    while todo and len(seen) < MAX_PAGES:
        path = todo.pop(0)
        if path in seen:
            continue
        if _is_download(path):
            seen[path] = (tab.context.request.get(tab.base + path).status, "")
            continue
        status = tab.go(path)
        # The weight rule: HTML + CSS + JS of any page < 100 KB before compression.
        assert len(tab.page.content().encode()) + tab.assets < MAX_PAGE_BYTES, path
        seen[path] = (status, tab.page.inner_text("body"))
        todo.extend(h for h in _links(tab) if h not in seen)
    return seen


# One person per role (the brief's seven roles).
CRAWL_AS = {
    "sales1": "sales",
    "pm1": "pm",
    "dev1": "delivery",
    "fin": "finance",
    "mgr1": "manager",
    "gm": "gm",
    "admin": "admin",
}


def _check_money(pages: dict[str, tuple[int, str]], allowed: dict[str, bool], who: str) -> None:
    for path, (status, text) in pages.items():
        assert status < 400, (who, path, status)
        for number, may in allowed.items():
            if not may and path.endswith(f"/m/orders/{number}"):
                assert "¥" not in text, (who, path)
        if not any(allowed.values()):
            assert "¥" not in text, (who, path)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_crawler_every_role(
    browser: Browser,
    base_url: str,
    world: World,
    session: Session,
    screens: Path,
    viewport: dict[str, int],
) -> None:
    _submit_o2(session, world)
    kind = "phone" if viewport is PHONE else "desktop"
    for userid, role in CRAWL_AS.items():
        tab = Tab(browser, base_url, viewport)
        tab.login(userid)
        pages = _crawl(tab, "/m/")
        assert len(pages) >= 5, (userid, list(pages))
        _check_money(pages, _money_rule(session, world, userid), userid)
        tab.page.goto(base_url + "/m/")
        tab.page.screenshot(path=str(screens / f"{kind}-home-{role}.png"), full_page=True)
        assert tab.errors == [], (userid, tab.errors)
        tab.close()


MAIN_PAGES = {
    "orders": "/m/orders",
    "order-detail": "/m/orders/{o1}",
    "customers": "/m/customers",
    "customer": "/m/customers/{c1}",
    "contract": "/m/contracts/{k1}",
    "opportunities": "/m/opportunities",
    "report-aging": "/m/reports/ar-aging",
    "report-revenue": "/m/reports/revenue",
    "new-order": "/m/orders/new",
}


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_screenshots_of_the_main_pages(
    browser: Browser, base_url: str, world: World, screens: Path, viewport: dict[str, int]
) -> None:
    """Finance sees every part of every main page (money included); the charts load."""
    kind = "phone" if viewport is PHONE else "desktop"
    tab = Tab(browser, base_url, viewport)
    tab.login("mgr1")
    ids = {"o1": world.o1.number, "c1": world.c1.id, "k1": world.o1.contract_id}
    for name, path in MAIN_PAGES.items():
        assert tab.go(path.format(**ids)) == 200, path
        for img in tab.page.locator("img").all():  # the report charts: real SVG images
            assert img.evaluate("i => i.complete && i.naturalWidth > 0"), (path, name)
        tab.page.screenshot(path=str(screens / f"{kind}-{name}.png"), full_page=True)
    assert tab.errors == []
    tab.close()


def test_sales_creates_a_customer_and_an_order_and_submits_it(
    browser: Browser, base_url: str, world: World, session: Session, screens: Path
) -> None:
    tab = Tab(browser, base_url, PHONE)
    tab.login("sales1", "/m/customers")
    tab.page.click("text=+ 新建客户")
    tab.page.fill("#name", "杭州青禾数字科技")
    tab.page.fill("#contact_name", "王敏")
    tab.page.fill("#contact_phone", "13800000001")
    tab.press("button:has-text('保存')")
    assert "杭州青禾数字科技" in tab.page.inner_text("h1")
    tab.page.click("text=新建订单")
    tab.page.fill("#title", "数据中台实施")
    tab.page.select_option("select[name=item_0]", "consult")
    tab.page.fill("input[name=qty_0]", "2")
    tab.press("button:has-text('保存草稿')")
    assert "数据中台实施" in tab.page.inner_text("body")
    tab.press("button:has-text('提交审批')")
    assert "审批中" in tab.page.inner_text("body")
    tab.page.screenshot(path=str(screens / "phone-order-submitted.png"), full_page=True)
    assert tab.errors == []
    tab.close()


def test_finance_records_a_receipt_and_confirms_a_duplicate(
    browser: Browser, base_url: str, world: World, session: Session, screens: Path
) -> None:
    tab = Tab(browser, base_url, PHONE)
    tab.login("fin", f"/m/orders/{world.o1.number}")
    for _ in range(2):
        tab.page.fill("#amount", "1500")
        tab.press("button:has-text('登记回款')")
    assert "可能重复,确认登记?" in tab.page.inner_text("body")
    tab.page.screenshot(path=str(screens / "phone-receipt-duplicate.png"), full_page=True)
    tab.press("button:has-text('确认登记')")
    session.expire_all()
    amounts = session.scalars(select(Receipt.amount)).all()
    assert amounts == [Decimal("1500.00"), Decimal("1500.00")]
    assert tab.errors == []
    tab.close()
