"""Ticket H5 pages: create, list, detail with timeline, step refused with its reason, and an
out-of-scope ticket reads as not found."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.models import Ticket
from tests.api_world import World, build
from tests.web_support import csrf_of, page, web_login


@pytest.fixture
def world(session: Session) -> World:
    return build(session)


@pytest.fixture
def web(app: Flask) -> FlaskClient:
    return app.test_client()


def test_create_list_detail_and_steps(web: FlaskClient, world: World, session: Session) -> None:
    web_login(web, "sales1")
    form = page(web, f"/m/tickets/new?order={world.o1.number}")
    assert world.o1.number in form
    bad = web.post(
        "/m/tickets/new", data={"csrf": csrf_of(form), "order": world.o1.number, "title": ""}
    )
    assert bad.status_code == 422 and "请填写问题描述" in bad.text
    res = web.post(
        "/m/tickets/new",
        data={
            "csrf": csrf_of(form),
            "order": world.o1.number,
            "title": "登录页报错",
            "priority": "P2",
            "category": "bug",
        },
    )
    assert res.status_code == 302
    number = session.scalars(select(Ticket.number)).one()
    assert res.headers["Location"].endswith(f"/m/tickets/{number}")
    listed = page(web, "/m/tickets")
    assert number in listed and "登录页报错" in listed
    detail = page(web, f"/m/tickets/{number}")
    assert "pm1名" in detail and "创建了工单" in detail
    # sales1 owns the order: may resolve; reopening a new ticket is refused with the reason
    refused = web.post(f"/m/tickets/{number}/reopen", data={"csrf": csrf_of(detail)})
    assert refused.status_code == 409 and "尚未解决" in refused.text
    done = web.post(f"/m/tickets/{number}/resolved", data={"csrf": csrf_of(detail)})
    assert done.status_code == 302
    assert "已解决" in page(web, f"/m/tickets/{number}")
    noted = web.post(
        f"/m/tickets/{number}/comment", data={"csrf": csrf_of(detail), "body": "客户已确认"}
    )
    assert noted.status_code == 302 and "客户已确认" in page(web, f"/m/tickets/{number}")

    other = web.application.test_client()
    web_login(other, "sales3")
    page(other, f"/m/tickets/{number}", status=404)
    assert number not in page(other, "/m/tickets")
