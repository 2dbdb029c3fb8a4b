"""Attachments over the API: listed on the order, linked from the timeline entry that brought
them, downloaded with the original name (RFC 5987); contract files for money readers only;
out of scope reads like a missing file; a refused upload stores nothing."""

from __future__ import annotations

import io
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from orderdesk.models import Attachment
from tests.api_support import ApiClient
from tests.api_world import World, build

NAME = "需求说明 v2.pdf"
PDF = b"%PDF-1.4 requirements"


@pytest.fixture
def world(session: Session) -> World:
    w = build(session)
    session.commit()
    return w


@pytest.fixture
def api(app: Flask, client: FlaskClient) -> ApiClient:
    return ApiClient(app, client)


def upload(
    api: ApiClient, path: str, name: str = NAME, content: bytes = PDF, **form: str
) -> TestResponse:
    data = {**form, "files": (io.BytesIO(content), name)}
    return api.post(path, data=data, content_type="multipart/form-data")


def test_order_files_listed_linked_and_downloaded(api: ApiClient, world: World) -> None:
    no = world.o1.number
    api.login("sales1")
    res = upload(api, f"/orders/{no}/progress", text="需求确认")
    assert res.status_code == 201, res.get_json()
    [stored] = res.get_json()["attachments"]
    listed = api.get(f"/orders/{no}/attachments").get_json()["items"]
    assert [(f["id"], f["name"], f["size"]) for f in listed] == [(stored["id"], NAME, len(PDF))]
    entry = api.get(f"/orders/{no}").get_json()["timeline"]["items"][0]
    assert entry["body"] == "需求确认"
    assert [a["url"] for a in entry["attachments"]] == [f"/api/v1/attachments/{stored['id']}"]
    got = api.get(f"/attachments/{stored['id']}")
    assert got.status_code == 200 and got.data == PDF and got.mimetype == "application/pdf"
    disposition = got.headers["Content-Disposition"]
    assert disposition.startswith("attachment; ")
    assert f"filename*=UTF-8''{quote(NAME, safe='')}" in disposition
    api.login("sales3")  # another region's salesperson
    assert api.get(f"/attachments/{stored['id']}").status_code == 404
    assert api.get(f"/orders/{no}/attachments").status_code == 404
    assert api.get("/attachments/999999").status_code == 404


def test_contract_files_for_money_readers(api: ApiClient, world: World, session: Session) -> None:
    assert world.o1.contract is not None
    cid = world.o1.contract.id
    api.login("fin")
    res = upload(api, f"/contracts/{cid}/attachments", name="合同扫描件.pdf")
    assert res.status_code == 201, res.get_json()
    [stored] = res.get_json()["items"]
    api.login("sales1")  # the customer's owner
    assert [f["name"] for f in api.get(f"/contracts/{cid}/attachments").get_json()["items"]] == [
        "合同扫描件.pdf"
    ]
    assert api.get(f"/attachments/{stored['id']}").status_code == 200
    timeline = api.get(f"/customers/{world.c1.id}").get_json()["timeline"]["items"]
    assert any(stored["id"] in [a["id"] for a in i["attachments"]] for i in timeline)
    api.login("sales2")  # sees the customer through an order, not its money
    assert api.get(f"/contracts/{cid}/attachments").status_code == 404
    assert api.get(f"/attachments/{stored['id']}").status_code == 404
    before = session.scalar(select(func.count(Attachment.id)))
    assert upload(api, f"/contracts/{cid}/attachments").status_code == 403
    api.login("fin")
    bad = upload(api, f"/contracts/{cid}/attachments", name="x.exe", content=b"MZ....")
    assert bad.status_code in (400, 422)
    empty = api.post(f"/contracts/{cid}/attachments", data={}, content_type="multipart/form-data")
    assert empty.status_code == 422
    session.expire_all()
    assert session.scalar(select(func.count(Attachment.id))) == before
