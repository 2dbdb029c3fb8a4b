"""新建合同 H5 form: a contract with two terms is created through the form; a refused form
shows the reason, keeps what was typed and creates nothing; CSRF is required."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orderdesk.models import Contract
from tests.api_world import World, build
from tests.web_support import csrf_of, page, web_login


@pytest.fixture
def world(session: Session) -> World:
    w = build(session)
    session.commit()
    return w


@pytest.fixture
def web(app: Flask) -> FlaskClient:
    return app.test_client()


def form(world: World, csrf: str, **extra: str) -> dict[str, str]:
    return {
        "csrf": csrf,
        "customer_id": str(world.c1.id),
        "title": "运维年度合同",
        "amount": "50000",
        "invoicing_policy": "invoice_first",
        "signed_date": "2026-11-20",
        "t0_name": "首付款",
        "t0_kind": "percent",
        "t0_value": "40",
        "t0_trigger": "on_signing",
        "t0_days": "7",
        "t1_name": "验收款",
        "t1_kind": "percent",
        "t1_value": "60",
        "t1_trigger": "on_milestone",
        "t1_milestone": "验收",
        "t1_days": "15",
        **extra,
    }


def contracts(session: Session) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count(Contract.id))) or 0)


def test_form_creates_a_contract(web: FlaskClient, world: World, session: Session) -> None:
    web_login(web, "sales1")
    html = page(web, "/m/contracts/new")
    assert world.c1.name in html and world.c2.name not in html  # only customers in scope
    res = web.post("/m/contracts/new", data=form(world, csrf_of(html)))
    assert res.status_code == 201, res.text[:500]
    session.expire_all()
    made = session.scalars(select(Contract).order_by(Contract.id.desc())).first()
    assert made is not None and made.number in res.text
    assert made.status == "signed" and made.invoicing_policy == "invoice_first"
    assert [t["name"] for t in made.payment_terms] == ["首付款", "验收款"]
    assert made.payment_terms[1]["milestone"] == "验收"


def test_refused_form_keeps_input_and_creates_nothing(
    web: FlaskClient, world: World, session: Session
) -> None:
    web_login(web, "sales1")
    csrf = csrf_of(page(web, "/m/contracts/new"))
    before = contracts(session)
    res = web.post("/m/contracts/new", data=form(world, csrf, t1_value="50"))
    assert res.status_code == 422
    assert "应为 100%" in res.text and 'value="运维年度合同"' in res.text
    assert contracts(session) == before
    # Without the CSRF token nothing is created either.
    res = web.post("/m/contracts/new", data=form(world, "0" * 32))
    assert res.status_code in (400, 403)
    assert contracts(session) == before


def test_other_customer_reads_as_missing(web: FlaskClient, world: World, session: Session) -> None:
    web_login(web, "sales3")
    csrf = csrf_of(page(web, "/m/contracts/new"))
    res = web.post("/m/contracts/new", data=form(world, csrf))
    assert res.status_code == 404
