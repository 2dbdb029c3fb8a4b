"""Every edit on the timeline says what changed, old → new: order fields, custom fields (by
their label; money-typed ones hidden from readers without money), contract terms, tasks."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.models import Activity
from orderdesk.orders.timeline import body_for
from tests.api_support import ApiClient
from tests.api_world import World, build

FIELDS = [
    {"key": "site", "label": "实施地点", "type": "string"},
    {"key": "budget", "label": "客户预算", "type": "money"},
]


@pytest.fixture
def world(session: Session) -> World:
    w = build(session)
    w.o2.order_type.field_schema = FIELDS
    w.o2.custom_fields = {"site": "滨江"}
    session.commit()
    return w


@pytest.fixture
def api(app: Flask, client: FlaskClient) -> ApiClient:
    return ApiClient(app, client)


def bodies(api: ApiClient, number: str) -> list[str]:
    return [i["body"] for i in api.get(f"/orders/{number}").get_json()["timeline"]["items"]]


def test_order_edit_names_old_and_new_values(
    api: ApiClient, world: World, session: Session
) -> None:
    no = world.o2.number
    api.login("mgr1")
    etag = api.get(f"/orders/{no}").headers["ETag"]
    change = {
        "title": "运维服务二期",
        "custom_fields": {"site": "西湖", "budget": "50000"},
        "owner_userid": "sales1",
    }
    res = api.patch(f"/orders/{no}", json=change, headers={"If-Match": etag})
    assert res.status_code == 200, res.get_json()
    [latest, *_] = bodies(api, no)
    assert latest.startswith("修改:")
    for part in ("标题 运维服务 → 运维服务二期", "实施地点 滨江 → 西湖", "客户预算 空 → 50000"):
        assert part in latest, latest
    assert "负责人 sales2名 → sales1名" in latest
    assert "修改了" not in latest
    # Someone who may not see the order's money reads it without the money-typed field.
    entry = session.scalars(select(Activity).order_by(Activity.id.desc())).first()
    assert entry is not None
    plain = body_for(entry, show_money=False)
    assert "实施地点 滨江 → 西湖" in plain and "客户预算" not in plain


def test_contract_terms_old_and_new(api: ApiClient, world: World) -> None:
    assert world.o1.contract is not None
    cid = world.o1.contract.id
    api.login("sales1")
    terms = [{"name": "全款", "percent": "100", "trigger": "on_signing", "days": 5}]
    assert api.patch(f"/contracts/{cid}", json={"payment_terms": terms}).status_code == 200
    text = next(b for b in bodies(api, world.o1.number) if "付款条款" in b)
    assert "付款条款 首付款 30% 签约后; 尾款 70% 签约后 +30天 → 全款 100% 签约后 +5天" in text
