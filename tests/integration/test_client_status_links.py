"""Client status links (issue 15): created over the API and chat, opened without a login,
no money on the page, refused alike when revoked, expired or guessed, rate-limited, every view
on the timeline, scoped to who may manage the order."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.client_web import VIEWS_PER_MINUTE
from orderdesk.core import clock
from orderdesk.models import Activity, ClientLink, Milestone
from tests.api_support import ApiClient
from tests.api_world import World, build
from tests.chat_world import Co, company  # noqa: F401 - provides the `co` fixture


@pytest.fixture
def world(session: Session) -> World:
    return build(session)


@pytest.fixture
def api(app: Flask, client: FlaskClient) -> ApiClient:
    return ApiClient(app, client)


def _path(url: str) -> str:
    found = re.search(r"/c/[A-Za-z0-9_-]+", url)
    assert found is not None, url
    return found.group(0)


def _refused_page(client: FlaskClient, path: str) -> str:
    res = client.get(path)
    assert res.status_code == 404
    assert res.headers["X-Robots-Tag"] == "noindex, nofollow"
    return res.get_data(as_text=True)


def test_pm_creates_a_link_the_client_sees_status_without_money(
    api: ApiClient, world: World, client: FlaskClient, session: Session
) -> None:
    pm = api.as_(api.login("pm1"))
    number = world.o1.number
    res = pm.post(f"/orders/{number}/status-links", json={"days": 7})
    assert res.status_code == 201, res.get_json()
    body = res.get_json()
    assert body["order_number"] == number and body["views"] == 0 and body["revoked_at"] is None
    path = _path(body["url"])
    token = path.removeprefix("/c/")
    assert len(token) >= 43  # 256 random bits

    page = client.get(path, headers={"User-Agent": "client-browser"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert number in html and "上海云启科技有限公司" in html and "验收" in html
    assert '<meta name="robots" content="noindex, nofollow">' in html
    assert page.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert "no-store" in page.headers["Cache-Control"]
    # No figures of any kind: the order is 10,000.00 with lines at 2,000.00 a day.
    for figure in ("10000", "10,000", "2000", "2,000", "¥", "金额", "回款"):
        assert figure not in html, figure
    assert "pm1名" in html and "sales1名" in html

    session.expire_all()
    link = session.scalars(select(ClientLink)).one()
    assert link.views == 1 and link.last_viewed_at is not None
    assert token not in link.token_digest  # only the keyed digest is stored
    views = session.scalars(select(Activity).where(Activity.kind == "client_view")).all()
    assert [(v.order_id, v.user_agent) for v in views] == [(world.o1.id, "client-browser")]
    assert views[0].ip is not None
    created = session.scalars(select(Activity).where(Activity.kind == "client_link")).one()
    assert token not in created.body

    listed = pm.get(f"/orders/{number}/status-links").get_json()["items"]
    assert [(i["id"], i["views"]) for i in listed] == [(link.id, 1)]
    assert "url" not in listed[0]


def test_revoked_expired_and_guessed_tokens_read_alike(
    api: ApiClient, world: World, client: FlaskClient, session: Session
) -> None:
    sales = api.as_(api.login("sales1"))
    number = world.o1.number
    first = sales.post(f"/orders/{number}/status-links", json={}).get_json()
    second = sales.post(f"/orders/{number}/status-links", json={}).get_json()
    assert client.get(_path(first["url"])).status_code == 200

    revoked = sales.post(f"/status-links/{first['id']}/revoke")
    assert revoked.status_code == 200 and revoked.get_json()["revoked_at"] is not None
    revoked_html = _refused_page(client, _path(first["url"]))

    link = session.get(ClientLink, second["id"])
    assert link is not None
    link.expires_at = clock.now() - timedelta(seconds=1)
    session.commit()
    expired_html = _refused_page(client, _path(second["url"]))

    guessed_html = _refused_page(client, "/c/" + "A" * 43)
    too_long_html = _refused_page(client, "/c/" + "A" * 500)
    assert revoked_html == expired_html == guessed_html == too_long_html
    assert number not in guessed_html and "链接无效或已过期" in guessed_html
    # Refusals count nothing and log nothing.
    session.expire_all()
    assert session.get(ClientLink, first["id"]).views == 1  # type: ignore[union-attr]
    assert len(session.scalars(select(Activity).where(Activity.kind == "client_view")).all()) == 1


def test_only_who_manages_the_order_creates_or_revokes(
    api: ApiClient, world: World, session: Session
) -> None:
    number = world.o1.number
    outsider = api.as_(api.login("sales3"))  # another team: the order does not exist for them
    res = outsider.post(f"/orders/{number}/status-links", json={})
    missing = outsider.post("/orders/SO-2099-9999/status-links", json={})
    assert res.status_code == missing.status_code == 404
    assert res.get_json()["error"]["code"] == missing.get_json()["error"]["code"]
    link_id = (
        api.as_(api.login("sales1"))
        .post(f"/orders/{number}/status-links", json={})
        .get_json()["id"]
    )
    res = outsider.post(f"/status-links/{link_id}/revoke")
    missing = outsider.post("/status-links/999999/revoke")
    assert res.status_code == missing.status_code == 404
    assert res.get_data() == missing.get_data()
    assert outsider.get(f"/orders/{number}/status-links").status_code == 404
    bad = api.as_(api.login("sales1")).post(f"/orders/{number}/status-links", json={"days": 0})
    assert bad.status_code == 422
    session.expire_all()
    assert session.get(ClientLink, link_id).revoked_at is None  # type: ignore[union-attr]
    assert len(session.scalars(select(ClientLink)).all()) == 1


def test_phones_only_when_the_order_type_says_so(
    api: ApiClient, world: World, client: FlaskClient, session: Session
) -> None:
    world["pm1"].mobile = "13912345678"
    session.commit()
    url = api.as_(api.login("pm1")).post(f"/orders/{world.o1.number}/status-links").get_json()
    path = _path(url["url"])
    assert "13912345678" not in client.get(path).get_data(as_text=True)
    world.o1.order_type.client_page_phones = True
    session.commit()
    assert "13912345678" in client.get(path).get_data(as_text=True)


def test_views_are_rate_limited_per_client_address(
    api: ApiClient, world: World, client: FlaskClient, session: Session
) -> None:
    issued = api.as_(api.login("pm1")).post(f"/orders/{world.o1.number}/status-links").get_json()
    path = _path(issued["url"])
    statuses = [client.get(path).status_code for _ in range(VIEWS_PER_MINUTE + 1)]
    # The window may roll over once mid-loop; the limit still bites within two windows.
    if statuses[-1] == 200:
        statuses += [client.get(path).status_code for _ in range(VIEWS_PER_MINUTE)]
    assert statuses[-1] == 429
    limited = client.get(path)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    session.expire_all()
    assert session.get(ClientLink, issued["id"]).views == statuses.count(200)  # type: ignore[union-attr]


def test_chat_command_creates_a_link_and_revokes_it(co: Co, client: FlaskClient) -> None:
    answer = co.chat.app("pm1", "进度链接 SO-2026-0002 14")
    assert "SO-2026-0002 的客户进度链接" in answer.text, answer.text
    path = _path(answer.text)
    page = client.get(path)
    assert page.status_code == 200 and "SO-2026-0002" in page.get_data(as_text=True)
    link_id = re.search(r"#(\d+)", answer.text).group(1)  # type: ignore[union-attr]
    with co.rt.db.transaction() as s:
        link = s.get(ClientLink, int(link_id))
        assert link is not None
        assert timedelta(days=13) < link.expires_at - link.created_at <= timedelta(days=14)
    assert "客户进度链接" in co.chat.app("pm1", "status-link SO-2026-0002").text  # English alias
    assert "已撤销" in co.chat.app("pm1", f"撤销进度链接 {link_id}").text
    assert client.get(path).status_code == 404
    refused = co.chat.app("sales2", "进度链接 SO-2026-0002")  # another team's order
    assert "找不到" in refused.text and co.count(ClientLink) == 2
    assert "整数" in co.chat.app("pm1", "进度链接 SO-2026-0002 两周").text


def test_milestone_progress_shows_last_and_next(
    api: ApiClient, world: World, client: FlaskClient, session: Session
) -> None:
    project = world.project
    session.add(Milestone(project=project, sequence=2, name="上线", due_date=None))
    session.commit()
    pm = api.as_(api.login("pm1"))
    first = session.scalars(select(Milestone).where(Milestone.name == "验收")).one()
    assert pm.post(f"/projects/{project.code}/milestones/{first.id}/accept").status_code == 200
    path = _path(pm.post(f"/orders/{world.o1.number}/status-links").get_json()["url"])
    html = client.get(path).get_data(as_text=True)
    assert "已完成:验收" in html and "下一步:上线" in html
