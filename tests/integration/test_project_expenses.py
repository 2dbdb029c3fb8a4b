"""Project expenses (issue 13): recorded through the API with a receipt photo and from the chat,
listed, scoped to the project's members, their managers and finance; bad input changes nothing;
and they lower the project's margin in the profitability report."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orderdesk.bot.router import router as global_router
from orderdesk.core import clock
from orderdesk.models import Attachment, ProjectExpense, Staff, Task
from orderdesk.reports.service import run_report
from orderdesk.runtime import Runtime
from tests.api_support import ApiClient
from tests.chat_world import build_world, text
from tests.money_world import order_with_contract, project_for

NOW = datetime(2026, 6, 30, 4, 0, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def world(rt: Runtime) -> None:
    with rt.db.transaction() as s:
        w = build_world(s)
        order = order_with_contract(s, owner=w.staff["zhangsan"], amount="10600.00", number="SO-E1")
        project = project_for(s, order)
        project.pm_id = w.staff["sunqi"].id
        s.add(Task(project=project, title="实施", owner_id=w.staff["zhoub"].id))


@pytest.fixture
def api(app: Flask, client: FlaskClient) -> ApiClient:
    return ApiClient(app, client)


def _count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(ProjectExpense)) or 0)


@pytest.mark.usefixtures("world")
def test_api_records_with_photo_lists_and_scopes(api: ApiClient, session: Session) -> None:
    pm = api.as_(api.login("sunqi"))
    with clock.frozen(NOW):
        resp = pm.post(
            "/projects/P-SO-E1/expenses",
            data={
                "category": "交通",
                "amount": "320.00",
                "note": "现场往返",
                "files": (io.BytesIO(PNG), "票据.png", "image/png"),
            },
            content_type="multipart/form-data",
        )
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["category"] == "travel" and body["amount"] == "320.00"
    assert body["spent_on"] == "2026-06-30" and body["photo"]["name"] == "票据.png"
    assert session.scalar(select(func.count()).select_from(Attachment)) == 1
    # Finance sees it; a delivery member too; another salesperson gets 404 like a wrong code.
    listing = api.as_(api.login("zhaoliu")).get("/projects/P-SO-E1/expenses").get_json()
    assert listing["total"] == "320.00" and listing["items"][0]["note"] == "现场往返"
    assert api.as_(api.login("zhoub")).get("/projects/P-SO-E1/expenses").status_code == 200
    assert api.as_(api.login("lisi")).get("/projects/P-SO-E1/expenses").status_code == 404
    lisi = api.as_(api.login("lisi"))
    denied = lisi.post(
        "/projects/P-SO-E1/expenses",
        data={"category": "交通", "amount": "1.00"},
        content_type="multipart/form-data",
    )
    assert denied.status_code == 404
    # Bad input: a clear 422, nothing written (not even the file).
    for form in (
        {"category": "交通", "amount": "-5"},
        {"category": "火箭", "amount": "5.00"},
        {"category": "交通", "amount": "5.00", "files": (io.BytesIO(b"MZ\x90\x00"), "a.png", "")},
        {"category": "交通", "amount": "5.00", "files": (io.BytesIO(b"hello"), "note.txt", "")},
    ):
        bad = pm.post("/projects/P-SO-E1/expenses", data=form, content_type="multipart/form-data")
        assert bad.status_code == 422, form
    session.expire_all()
    assert _count(session) == 1
    assert session.scalar(select(func.count()).select_from(Attachment)) == 1
    # The margin drops by the expense.
    fin = run_report(session, actor=api_staff(session, "zhaoliu"), name="profitability")
    assert fin.rows[0]["expenses"] == Decimal("320.00")
    assert fin.rows[0]["margin"] == Decimal("10000.00") - Decimal("320.00")


def api_staff(session: Session, userid: str) -> Staff:
    return session.scalars(select(Staff).where(Staff.userid == userid)).one()


def _say(rt: Runtime, user: str, content: str) -> str:
    with clock.frozen(NOW):
        answer = global_router.dispatch(text(user, content), rt)
    body = getattr(answer, "content", None)
    assert isinstance(body, str)
    return body


@pytest.mark.usefixtures("world")
def test_chat_expense_command(rt: Runtime, session: Session) -> None:
    said = _say(rt, "zhoub", "费用 P-SO-E1 住宿 480.50 杭州两晚")
    assert "已登记费用 住宿 ¥480.50" in said
    assert "已登记费用 交通 ¥12.00" in _say(rt, "sunqi", "expense P-SO-E1 travel 12元")
    assert "无法识别" in _say(rt, "sunqi", "报销 P-SO-E1 火箭 12")
    assert "找不到项目" in _say(rt, "lisi", "报销 P-SO-E1 交通 12")
    assert "请写上项目编号" in _say(rt, "sunqi", "费用 P-SO-E1")
    rows = session.scalars(select(ProjectExpense).order_by(ProjectExpense.id)).all()
    assert [(r.category, r.amount, r.note) for r in rows] == [
        ("lodging", Decimal("480.50"), "杭州两晚"),
        ("travel", Decimal("12.00"), None),
    ]
