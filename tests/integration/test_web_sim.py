"""/sim: messages and clicks go through the real signed callbacks; pushes show in the chat."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from orderdesk.approvals import service as approvals
from orderdesk.models import ApprovalRequest
from tests.api_world import World, build
from tests.web_support import csrf_of, page, web_login


@pytest.fixture
def world(session: Session) -> World:
    return build(session)


@pytest.fixture
def web(app: Flask) -> FlaskClient:
    return app.test_client()


def test_chat_goes_through_the_signed_callback(
    web: FlaskClient, world: World, session: Session
) -> None:
    html = page(web, "/sim?as=sales1")
    res = web.post(
        "/sim/send", data={"csrf": csrf_of(html), "as": "sales1", "text": f"查 {world.o1.number}"}
    )
    assert res.status_code == 200, res.text[:300]
    # The bot's passive reply (decrypted from the callback's answer) names the order.
    reply = res.text.split("bubble-app", 1)[1]
    assert world.o1.number in reply and "云启" in reply


def test_approval_card_button_click(web: FlaskClient, world: World, session: Session) -> None:
    req = approvals.submit(session, actor=world["sales2"], number=world.o2.number)
    session.commit()
    html = page(web, "/sim?as=mgr1")
    assert "wcard" in html and world.o2.number in html  # the approval card pushed to mgr1
    # The card's detail link is one of our pages.
    links = [
        p.replace("&amp;", "&") for _, p in re.findall(r'href="(https?://[^/"]+)?(/m/[^"]+)"', html)
    ]
    assert links
    web_login(web, "mgr1")
    for link in links:
        res = web.get(link, follow_redirects=True)
        res.close()  # static files stream from disk
        assert res.status_code == 200, link
    key = re.search(r'name="key" value="(approve[^"]*)"', html)
    task = re.search(r'name="task_id" value="([^"]+)"', html)
    assert key and task
    res = web.post(
        "/sim/send",
        data={"csrf": csrf_of(html), "as": "mgr1", "task_id": task[1], "key": key[1]},
    )
    assert res.status_code == 200
    session.expire_all()
    assert session.get(ApprovalRequest, req.id).status == "approved"  # type: ignore[union-attr]


def test_sim_is_sandbox_and_loopback_only(web: FlaskClient, world: World) -> None:
    assert web.get("/sim", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 404
    html = page(web, "/sim")
    bad = web.post("/sim/send", data={"csrf": "0" * 32, "as": "sales1", "text": "帮助"})
    assert bad.status_code == 400
    unknown = web.post("/sim/send", data={"csrf": csrf_of(html), "as": "nobody", "text": "帮助"})
    assert unknown.status_code == 400
