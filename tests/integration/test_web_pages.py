"""H5 pages through the Flask test client: login, 工作台, orders, approvals, the headers and
the scope rules (out of scope reads like a missing page; money only for those allowed)."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from orderdesk.approvals import service as approvals
from orderdesk.models import ApprovalRequest, Attachment, Order, Receipt, TimeEntry
from orderdesk.money.ledger import check_ledger
from tests.api_world import World, build
from tests.web_support import csrf_of, page, web_login


@pytest.fixture
def world(session: Session) -> World:
    return build(session)


@pytest.fixture
def web(app: Flask) -> FlaskClient:
    return app.test_client()


def _submitted(session: Session, world: World) -> ApprovalRequest:
    """o2 (sales2's) submitted: its approval waits for mgr1, the head of 东区."""
    req = approvals.submit(session, actor=world["sales2"], number=world.o2.number)
    session.commit()
    return req


def test_pages_need_a_login(web: FlaskClient, world: World) -> None:
    res = web.get(f"/m/orders/{world.o1.number}")
    assert res.status_code == 302
    assert res.headers["Location"].startswith("/m/login?next=/m/orders/")


def test_security_headers_and_cookie_flags(web: FlaskClient, world: World) -> None:
    res = web_login(web, "sales1")
    cookie = res.headers.getlist("Set-Cookie")[0]
    assert cookie.startswith("od_web=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    html = web.get("/m/")
    csp = html.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert html.headers["X-Frame-Options"] == "DENY"
    assert "<script>" not in html.text and "style=" not in html.text
    # The callbacks stay cookie-free: no Flask session is built for them.
    assert web.get("/healthz").headers.get("Set-Cookie") is None


def test_dev_login_refused_to_remote_clients(web: FlaskClient, world: World) -> None:
    form = web.get("/m/login", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert "sales1" not in form.text
    res = web.post(
        "/m/login/dev",
        data={"userid": "gm", "csrf": "x"},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    assert res.status_code == 404
    assert "od_web=" not in res.headers.get("Set-Cookie", "")


def test_login_form_needs_its_csrf_token(web: FlaskClient, world: World) -> None:
    web.get("/m/login")
    res = web.post("/m/login/dev", data={"userid": "gm", "csrf": "0" * 32})
    assert res.status_code == 400
    assert web.get("/m/").status_code == 302


def test_workbench_lists_what_waits_for_me(
    web: FlaskClient, world: World, session: Session
) -> None:
    req = _submitted(session, world)
    web_login(web, "mgr1")
    html = page(web, "/m/")
    assert "待我审批(1)" in html
    assert f"/m/approvals/{req.id}" in html
    assert world.o1.number in html and world.o3.number not in html


def test_order_detail_money_only_for_those_allowed(web: FlaskClient, world: World) -> None:
    no = world.o1.number
    web_login(web, "sales1")
    owner = page(web, f"/m/orders/{no}")
    assert "¥10,000.00" in owner and "回款" in owner and "首付款" in owner
    other = FlaskClient(web.application)
    web_login(other, "pm1")  # runs o1's project: sees the order, never its money
    pm = page(other, f"/m/orders/{no}")
    assert world.o1.title in pm and "项目" in pm
    assert "¥" not in pm and "回款" not in pm and "首付款" not in pm
    assert "¥" not in page(other, "/m/orders") and "¥" not in page(other, "/m/")


def test_out_of_scope_reads_like_missing(web: FlaskClient, world: World, session: Session) -> None:
    req = _submitted(session, world)
    web_login(web, "sales3")
    truly_missing = page(web, "/m/orders/SO-1999-9999", 404)
    for path in (f"/m/orders/{world.o1.number}", f"/m/approvals/{req.id}"):
        # Byte for byte the page of an order that does not exist: no number, name or person.
        assert page(web, path, 404) == truly_missing
    assert page(web, "/m/approvals/999999", 404) == truly_missing


def test_orders_list_filters_and_bad_input(web: FlaskClient, world: World) -> None:
    web_login(web, "mgr1")
    html = page(web, "/m/orders?q=运维")
    assert world.o2.number in html and world.o1.number not in html
    assert world.o1.number in page(web, "/m/orders?status=in_progress")
    page(web, "/m/orders?status=bogus", 400)
    page(web, "/m/orders?after=-1", 400)


def test_approve_from_the_card_link(web: FlaskClient, world: World, session: Session) -> None:
    req = _submitted(session, world)
    path = f"/m/approvals/{req.id}"
    res = web.get(path)  # the card's link, before any login: login first, then back here
    assert res.status_code == 302
    web_login(web, "mgr1", next_url=path)
    html = page(web, path)
    assert "同意" in html and "部门经理" in html
    done = web.post(f"{path}/approve", data={"csrf": csrf_of(html), "comment": "可以"})
    assert done.status_code == 302
    session.expire_all()
    assert session.get(ApprovalRequest, req.id).status == "approved"  # type: ignore[union-attr]
    assert session.get(Order, world.o2.id).status == "approved"  # type: ignore[union-attr]
    after = page(web, path)
    assert "可以" in after and 'name="comment"' not in after
    assert check_ledger(session) == []


def test_reject_needs_a_reason_and_changes_nothing_without(
    web: FlaskClient, world: World, session: Session
) -> None:
    req = _submitted(session, world)
    web_login(web, "mgr1")
    html = page(web, f"/m/approvals/{req.id}")
    res = web.post(f"/m/approvals/{req.id}/reject", data={"csrf": csrf_of(html), "comment": ""})
    assert res.status_code == 409
    assert 'role="alert"' in res.text
    session.expire_all()
    assert session.get(ApprovalRequest, req.id).status == "pending"  # type: ignore[union-attr]
    forged = web.post(f"/m/approvals/{req.id}/reject", data={"csrf": "f" * 32, "comment": "不行"})
    assert forged.status_code == 400
    ok = web.post(
        f"/m/approvals/{req.id}/reject", data={"csrf": csrf_of(html), "comment": "价格太低"}
    )
    assert ok.status_code == 302
    session.expire_all()
    assert session.get(ApprovalRequest, req.id).status == "rejected"  # type: ignore[union-attr]


def test_someone_else_cannot_decide(web: FlaskClient, world: World, session: Session) -> None:
    req = _submitted(session, world)
    web_login(web, "gm")  # sees every order, is not this step's approver
    html = page(web, f"/m/approvals/{req.id}")
    assert 'name="comment"' not in html
    res = web.post(f"/m/approvals/{req.id}/approve", data={"csrf": csrf_of(html)})
    assert res.status_code in (404, 409)
    session.expire_all()
    assert session.get(ApprovalRequest, req.id).status == "pending"  # type: ignore[union-attr]


def test_logout_ends_the_session(web: FlaskClient, world: World) -> None:
    web_login(web, "sales1")
    html = page(web, "/m/")
    res = web.post("/m/logout", data={"csrf": csrf_of(html)})
    assert res.status_code == 302
    assert web.get("/m/").status_code == 302


def test_owner_submits_a_draft_from_the_page(
    web: FlaskClient, world: World, session: Session
) -> None:
    no = world.o2.number
    web_login(web, "sales2")
    html = page(web, f"/m/orders/{no}")
    assert 'value="submit"' in html
    res = web.post(f"/m/orders/{no}/act", data={"csrf": csrf_of(html), "to": "submit"})
    assert res.status_code == 302
    session.expire_all()
    assert session.get(Order, world.o2.id).status == "pending_approval"  # type: ignore[union-attr]
    again = web.post(f"/m/orders/{no}/act", data={"csrf": csrf_of(html), "to": "submit"})
    assert again.status_code == 409 and "已在审批中" in again.text


def test_transitions_offered_by_role_and_reason_required(
    web: FlaskClient, world: World, session: Session
) -> None:
    no = world.o1.number  # in progress
    web_login(web, "sales1")
    html = page(web, f"/m/orders/{no}")
    assert 'value="delivered"' in html and 'value="cancelled"' not in html  # cancel: managers
    forged = web.post(f"/m/orders/{no}/act", data={"csrf": csrf_of(html), "to": "cancelled"})
    assert forged.status_code == 409
    manager = FlaskClient(web.application)
    web_login(manager, "mgr1")
    mhtml = page(manager, f"/m/orders/{no}")
    assert 'value="cancelled"' in mhtml
    bare = manager.post(f"/m/orders/{no}/act", data={"csrf": csrf_of(mhtml), "to": "cancelled"})
    assert bare.status_code == 400 and "原因" in bare.text
    session.expire_all()
    assert session.get(Order, world.o1.id).status == "in_progress"  # type: ignore[union-attr]
    ok = web.post(f"/m/orders/{no}/act", data={"csrf": csrf_of(html), "to": "delivered"})
    assert ok.status_code == 302
    session.expire_all()
    assert session.get(Order, world.o1.id).status == "delivered"  # type: ignore[union-attr]
    assert check_ledger(session) == []


def test_roles_without_rights_get_no_buttons(web: FlaskClient, world: World) -> None:
    web_login(web, "fin")  # sees every order, changes none
    html = page(web, f"/m/orders/{world.o1.number}")
    assert "/act" not in html
    res = web.post(f"/m/orders/{world.o1.number}/act", data={"csrf": "0" * 32, "to": "delivered"})
    assert res.status_code == 400  # the CSRF check comes first


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_progress_with_a_photo_and_hours(web: FlaskClient, world: World, session: Session) -> None:
    no = world.o1.number
    web_login(web, "pm1")
    html = page(web, f"/m/orders/{no}")
    res = web.post(
        f"/m/orders/{no}/progress",
        data={
            "csrf": csrf_of(html),
            "text": "现场安装完成",
            "files": (io.BytesIO(PNG), "site.png"),
        },
        content_type="multipart/form-data",
    )
    assert res.status_code == 302, res.text[:300]
    after = page(web, f"/m/orders/{no}")
    assert "现场安装完成" in after and "site.png" in after
    assert session.query(Attachment).filter_by(order_id=world.o1.id).count() == 1
    bad = web.post(
        f"/m/orders/{no}/progress",
        data={"csrf": csrf_of(html), "text": "x", "files": (io.BytesIO(b"MZ\x90"), "a.png")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 400 and 'role="alert"' in bad.text
    assert session.query(Attachment).count() == 1  # the refused file left nothing behind
    hours = web.post(f"/m/orders/{no}/hours", data={"csrf": csrf_of(html), "hours": "2.5"})
    assert hours.status_code == 302
    assert session.query(TimeEntry).one().hours == Decimal("2.5")
    silly = web.post(f"/m/orders/{no}/hours", data={"csrf": csrf_of(html), "hours": "abc"})
    assert silly.status_code == 400
    assert session.query(TimeEntry).count() == 1


def test_finance_records_a_receipt(web: FlaskClient, world: World, session: Session) -> None:
    no = world.o1.number
    sales = FlaskClient(web.application)
    web_login(sales, "sales1")  # the owner sees the money, but may not record receipts
    assert "登记回款" not in page(sales, f"/m/orders/{no}")
    web_login(web, "fin")
    html = page(web, f"/m/orders/{no}")
    assert "登记回款" in html
    bad = web.post(f"/m/orders/{no}/receipts", data={"csrf": csrf_of(html), "amount": "-5"})
    assert bad.status_code == 400
    future = web.post(
        f"/m/orders/{no}/receipts",
        data={"csrf": csrf_of(html), "amount": "100", "received_on": "2999-01-01"},
    )
    assert future.status_code == 400
    assert session.query(Receipt).count() == 0
    ok = web.post(f"/m/orders/{no}/receipts", data={"csrf": csrf_of(html), "amount": "3000.00"})
    assert ok.status_code == 302
    after = page(web, f"/m/orders/{no}")
    assert "¥3,000.00" in after
    assert session.query(Receipt).one().amount == Decimal("3000.00")
    forged = sales.post(
        f"/m/orders/{no}/receipts",
        data={"csrf": csrf_of(page(sales, f"/m/orders/{no}")), "amount": "1"},
    )
    assert forged.status_code == 409 or forged.status_code == 404
    assert session.query(Receipt).count() == 1
    assert check_ledger(session) == []


def test_sandbox_oauth_return_answers_from_the_sandbox_directory(
    web: FlaskClient, world: World
) -> None:
    state = csrf_of(page(web, "/m/login"))  # the state ties WeCom's answer to this browser
    wrong = web.get("/m/auth/oauth?code=mgr1&state=0123&next=/m/")
    assert wrong.status_code == 400
    assert web.get("/m/").status_code == 302
    res = web.get(f"/m/auth/oauth?code=mgr1&state={state}&next=/m/approvals")
    assert res.status_code == 302 and res.headers["Location"] == "/m/approvals"
    assert "mgr1名" in page(web, "/m/approvals")
    # Never an open redirect: a foreign `next` lands on the 工作台.
    other = FlaskClient(web.application)
    state = csrf_of(page(other, "/m/login"))
    res = other.get(f"/m/auth/oauth?code=gm&state={state}&next=//evil.example/")
    assert res.headers["Location"] == "/m/"
    unknown = FlaskClient(web.application)
    state = csrf_of(page(unknown, "/m/login"))
    assert unknown.get(f"/m/auth/oauth?code=nobody&state={state}").status_code == 403
