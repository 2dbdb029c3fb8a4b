"""我不在时 (delegation), the order's custom-field form, and the simulator's job buttons, through
the Flask test client."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from rq import SimpleWorker
from sqlalchemy.orm import Session

from orderdesk.approvals import service as approvals
from orderdesk.core import clock
from orderdesk.jobqueue import QUEUES
from orderdesk.models import Delegation, Order, OrderType, OutboxMessage
from orderdesk.runtime import Runtime
from orderdesk.settings import Settings
from tests.api_world import World, build
from tests.web_support import csrf_of, page, web_login


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Today is a working day here, so the morning digest has something to say whatever the date.
    return dataclasses.replace(settings, workdays=clock.today(settings.tz).isoformat())


@pytest.fixture
def world(session: Session) -> World:
    return build(session)


@pytest.fixture
def web(app: Flask) -> FlaskClient:
    return app.test_client()


def _today(rt: Runtime) -> str:
    return clock.today(rt.settings.tz).isoformat()


def test_delegate_sees_the_approval_until_the_window_ends(
    web: FlaskClient, app: Flask, rt: Runtime, world: World, session: Session
) -> None:
    approvals.submit(session, actor=world["sales2"], number=world.o2.number)
    session.commit()
    web_login(web, "mgr1")
    html = page(web, "/m/delegation")
    assert "没有委托" in html and "mgr2名" in html
    today = clock.today(rt.settings.tz)
    res = web.post(
        "/m/delegation",
        data={
            "csrf": csrf_of(html),
            "substitute": "mgr2",
            "starts_on": today.isoformat(),
            "ends_on": (today + timedelta(days=3)).isoformat(),
            "reason": "出差",
        },
    )
    assert res.status_code == 302
    assert "mgr2名" in page(web, "/m/delegation") and "出差" in page(web, "/m/delegation")
    delegate = app.test_client()
    web_login(delegate, "mgr2")
    assert world.o2.number in page(delegate, "/m/approvals")
    res = web.post("/m/delegation/end", data={"csrf": csrf_of(html)})
    assert res.status_code == 302
    assert world.o2.number not in page(delegate, "/m/approvals")
    assert "没有委托" in page(web, "/m/delegation")


def test_delegation_refuses_bad_input_and_saves_nothing(
    web: FlaskClient, rt: Runtime, world: World, session: Session
) -> None:
    web_login(web, "mgr1")
    token = csrf_of(page(web, "/m/delegation"))
    today = _today(rt)
    cases = [
        ({"substitute": "mgr2", "starts_on": "soon", "ends_on": today}, "开始日期无效"),
        ({"substitute": "mgr2", "starts_on": today, "ends_on": "2020-01-01"}, "结束日期不能早于"),
        ({"substitute": "mgr1", "starts_on": today, "ends_on": today}, "不能委托给自己"),
        ({"substitute": "nobody", "starts_on": today, "ends_on": today}, "找不到同事"),
    ]
    for form, message in cases:
        res = web.post("/m/delegation", data={"csrf": token, **form})
        assert res.status_code == 400, form
        assert message in res.text, (form, res.text[:300])
    no_token = web.post(
        "/m/delegation",
        data={"csrf": "0" * 32, "substitute": "mgr2", "starts_on": today, "ends_on": today},
    )
    assert no_token.status_code == 400
    assert web.post("/m/delegation/end", data={}).status_code == 400
    assert session.query(Delegation).count() == 0


def _with_site_field(session: Session) -> None:
    impl = session.query(OrderType).filter_by(code="impl").one()
    impl.field_schema = [
        {"key": "site", "label": "实施地点", "type": "enum", "options": ["上海", "北京"]},
        {"key": "budget", "label": "预算", "type": "money", "required": True},
    ]
    session.commit()


def test_order_form_edits_custom_fields_through_the_order_service(
    web: FlaskClient, world: World, session: Session
) -> None:
    _with_site_field(session)
    no = world.o2.number  # a draft of sales2's
    web_login(web, "sales2")
    html = page(web, f"/m/orders/{no}")
    assert 'name="cf_site"' in html and 'name="cf_budget"' in html
    version = session.get(Order, world.o2.id).version  # type: ignore[union-attr]
    bad = web.post(
        f"/m/orders/{no}/fields",
        data={"csrf": csrf_of(html), "version": version, "cf_site": "广州", "cf_budget": ""},
    )
    assert bad.status_code == 400
    assert "实施地点只能是" in bad.text and "预算为必填项" in bad.text
    ok = web.post(
        f"/m/orders/{no}/fields",
        data={"csrf": csrf_of(html), "version": version, "cf_site": "北京", "cf_budget": "1200"},
    )
    assert ok.status_code == 302
    session.expire_all()
    order = session.get(Order, world.o2.id)
    assert order is not None and order.custom_fields == {"site": "北京", "budget": "1200.00"}
    stale = web.post(
        f"/m/orders/{no}/fields",
        data={"csrf": csrf_of(html), "version": version, "cf_site": "上海", "cf_budget": "1"},
    )
    assert stale.status_code == 409  # the version the editor saw is gone


def test_order_field_form_only_for_those_who_manage_the_order(
    web: FlaskClient, world: World, session: Session
) -> None:
    _with_site_field(session)
    web_login(web, "sales1")  # o2 is sales2's: out of sales1's scope
    assert page(web, f"/m/orders/{world.o2.number}", 404)
    token = csrf_of(page(web, "/m/"))
    res = web.post(f"/m/orders/{world.o2.number}/fields", data={"csrf": token, "cf_site": "上海"})
    assert res.status_code == 404


def _drain(rt: Runtime) -> None:
    """With Redis the job waits in RQ: a worker runs it (without Redis it ran in-process)."""
    if rt.redis is not None:
        SimpleWorker([rt.queue.rq_queue(q) for q in QUEUES], connection=rt.redis).work(burst=True)


def test_sim_button_runs_the_morning_digest_into_the_chat(
    web: FlaskClient, rt: Runtime, world: World, session: Session
) -> None:
    html = page(web, "/sim?as=sales1")
    assert 'value="money.morning_digest"' in html and "每日早报" in html
    assert "今日回款提醒" not in html
    res = web.post(
        "/sim/run", data={"csrf": csrf_of(html), "as": "sales1", "job": "money.morning_digest"}
    )
    assert res.status_code == 302
    assert "ran=money.morning_digest" in res.headers["Location"]
    _drain(rt)
    digest = session.query(OutboxMessage).filter_by(recipient="sales1").all()
    assert any(m.idempotency_key.startswith("digest:sales1:") for m in digest)
    after = page(web, res.headers["Location"])
    assert "今日回款提醒" in after and "已触发" in after


def test_sim_button_refuses_forged_and_unknown_runs(
    web: FlaskClient, rt: Runtime, world: World, session: Session
) -> None:
    html = page(web, "/sim?as=sales1")
    forged = web.post("/sim/run", data={"csrf": "0" * 32, "job": "money.morning_digest"})
    assert forged.status_code == 400
    unknown = web.post("/sim/run", data={"csrf": csrf_of(html), "as": "sales1", "job": "rm -rf"})
    assert unknown.status_code == 400
    _drain(rt)
    assert (
        session.query(OutboxMessage).filter(OutboxMessage.idempotency_key.like("digest%")).count()
        == 0
    )
    remote = web.post(
        "/sim/run",
        data={"csrf": csrf_of(html), "job": "outbox.sweep"},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    assert remote.status_code == 404


def test_after_submit_only_the_fields_marked_editable_have_inputs(
    web: FlaskClient, world: World, session: Session
) -> None:
    impl = session.query(OrderType).filter_by(code="impl").one()
    impl.field_schema = [
        {"key": "site", "label": "实施地点", "type": "string"},
        {"key": "contact", "label": "现场联系人", "type": "string", "editable_in": ["in_progress"]},
    ]
    o1 = session.get(Order, world.o1.id)
    assert o1 is not None
    o1.custom_fields = {"site": "上海"}
    session.commit()
    web_login(web, "sales1")  # o1 is sales1's, in progress
    html = page(web, f"/m/orders/{world.o1.number}")
    assert 'name="cf_contact"' in html and 'name="cf_site"' not in html
    assert "已提交,不可修改" in html
    res = web.post(
        f"/m/orders/{world.o1.number}/fields",
        data={"csrf": csrf_of(html), "cf_contact": "王工", "cf_site": "北京"},
    )
    assert res.status_code == 302
    session.expire_all()
    o1 = session.get(Order, world.o1.id)
    assert o1 is not None and o1.custom_fields == {"site": "上海", "contact": "王工"}
