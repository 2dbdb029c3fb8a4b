"""Deliverables with versions and the client's sign-off (issue 15): three versions uploaded over
the API, the third signed through the client page (real HTTP through the Flask app), refusals
(revoked, expired, guessed, superseded, forged form), a milestone that waits for sign-off, the
scope (another salesperson gets 404), the H5 pages and the chat command."""

from __future__ import annotations

import io
import re
import threading
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.core import clock
from orderdesk.delivery import deliverables
from orderdesk.models import (
    Activity,
    ChatBinding,
    ClientLink,
    Deliverable,
    DeliverableVersion,
    Installment,
    OutboxMessage,
    Staff,
)
from orderdesk.money.ledger import check_ledger
from orderdesk.orders.attachments import Upload
from orderdesk.projects.service import create_from_order
from orderdesk.runtime import Runtime
from tests.api_support import ApiClient
from tests.api_world import World, build
from tests.chat_world import Co, company  # noqa: F401 - provides the `co` fixture
from tests.fakes.wecom_rules import check_appchat_send, check_message_send, check_webhook
from tests.web_support import csrf_of, page, web_login

PDF = b"%PDF-1.4 design "


@pytest.fixture
def world(session: Session) -> World:
    return build(session)


@pytest.fixture
def api(app: Flask, client: FlaskClient) -> ApiClient:
    return ApiClient(app, client)


def _upload(api: ApiClient, did: int, n: int, name: str = "设计稿.pdf") -> dict[str, Any]:
    res = api.post(
        f"/deliverables/{did}/versions",
        data={"file": (io.BytesIO(PDF + bytes([n])), name, "application/pdf"), "note": f"第{n}稿"},
        content_type="multipart/form-data",
    )
    assert res.status_code == 201, res.get_json()
    body: dict[str, Any] = res.get_json()
    return body


def _deliverable(api: ApiClient, world: World, name: str = "设计稿") -> int:
    res = api.post(f"/projects/{world.o1.number}/deliverables", json={"name": name})
    assert res.status_code == 201, res.get_json()
    did: int = res.get_json()["id"]
    return did


def _signoff_path(api: ApiClient, version_id: int) -> str:
    res = api.post(f"/deliverable-versions/{version_id}/signoff-links", json={"days": 7})
    assert res.status_code == 201, res.get_json()
    found = re.search(r"/c/s/[A-Za-z0-9_-]+", res.get_json()["url"])
    assert found is not None
    return found.group(0)


def _form_token(html: str) -> str:
    found = re.search(r'name="form_token" value="([0-9a-f]+)"', html)
    assert found is not None, html
    return found.group(1)


def test_three_versions_and_the_client_signs_off_the_third(
    api: ApiClient, world: World, client: FlaskClient, session: Session
) -> None:
    session.add(ChatBinding(kind="appchat", chat_id="prjgroup1", order_id=world.o1.id))
    session.commit()
    pm = api.as_(api.login("pm1"))
    did = _deliverable(pm, world)
    versions = [_upload(pm, did, n) for n in (1, 2, 3)]
    assert [v["label"] for v in versions] == ["v1", "v2", "v3"]

    listed = pm.get(f"/deliverables/{did}/versions").get_json()["items"]
    assert [(v["label"], v["current"]) for v in listed] == [
        ("v3", True),
        ("v2", False),
        ("v1", False),
    ]
    # An old version stays downloadable, under its original name (RFC 5987).
    old = pm.get(f"/deliverable-versions/{versions[0]['id']}/file")
    assert old.status_code == 200 and old.data == PDF + b"\x01"
    assert "filename*=UTF-8''%E8%AE%BE%E8%AE%A1%E7%A8%BF.pdf" in old.headers["Content-Disposition"]
    old.close()

    # Each version told the project group once, with a card opening the deliverable's page.
    cards = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.idempotency_key.like("deliverable-version:%"))
        .order_by(OutboxMessage.id)
    ).all()
    assert [c.recipient for c in cards] == ["prjgroup1"] * 3
    third = cards[-1].payload
    assert third["textcard"]["title"] == "设计稿 v3 已上传,取代 v2"
    assert third["textcard"]["url"].endswith(f"/m/deliverables/{did}")
    check_appchat_send({**third, "chatid": "prjgroup1"})

    # The status page lists v3 as waiting once a sign-off link exists, linking to its page.
    status = pm.post(f"/orders/{world.o1.number}/status-links", json={}).get_json()
    status_path = re.search(r"/c/[A-Za-z0-9_-]+", status["url"]).group(0)  # type: ignore[union-attr]
    assert "待您确认的交付物" not in client.get(status_path).text
    path = _signoff_path(pm, int(versions[2]["id"]))
    status_html = client.get(status_path).text
    assert "待您确认的交付物" in status_html and "设计稿 v3" in status_html
    assert f"{status_path}/v/{versions[2]['id']}" in status_html

    html = client.get(path, headers={"User-Agent": "client-browser"})
    assert html.status_code == 200 and html.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert "设计稿 v3" in html.text and "请确认" in html.text
    file = client.get(f"{path}/file")
    assert file.status_code == 200 and file.data == PDF + b"\x03"
    assert "filename*=UTF-8''" in file.headers["Content-Disposition"]
    file.close()

    done = client.post(
        path, data={"form_token": _form_token(html.text), "decision": "approve", "comment": "很好"}
    )
    assert done.status_code == 200 and "您已确认此版本" in done.text
    session.expire_all()
    v3 = session.get(DeliverableVersion, versions[2]["id"])
    assert v3 is not None and v3.signoff_status == "approved" and v3.signoff_comment == "很好"
    assert v3.deliverable.status == "accepted"
    line = session.scalars(select(Activity).where(Activity.kind == "signoff")).one()
    assert line.order_id == world.o1.id and "设计稿 v3 客户已确认" in line.body
    told = session.scalars(
        select(OutboxMessage).where(OutboxMessage.idempotency_key.like("deliverable-signoff:%"))
    ).all()
    assert sorted(m.recipient for m in told) == ["pm1", "sales1"]
    for m in told:
        check_message_send({**m.payload, "touser": m.recipient, "agentid": 1})
    # Answered: a second answer is refused, and the status page no longer lists it.
    again = client.post(path, data={"form_token": _form_token(html.text), "decision": "changes"})
    assert again.status_code == 409
    assert "待您确认的交付物" not in client.get(status_path).text
    assert check_ledger(session) == []


def test_refusals_read_like_not_found_and_superseded_cannot_be_signed(
    api: ApiClient, world: World, client: FlaskClient, session: Session
) -> None:
    pm = api.as_(api.login("pm1"))
    did = _deliverable(pm, world)
    v1 = _upload(pm, did, 1)
    old_path = _signoff_path(pm, int(v1["id"]))
    old_form = _form_token(client.get(old_path).text)
    v2 = _upload(pm, did, 2)
    # The link to v1 still opens, says it was superseded, and refuses an answer.
    superseded = client.get(old_path)
    assert superseded.status_code == 200 and "已被 v2 取代" in superseded.text
    refused = client.post(old_path, data={"form_token": old_form, "decision": "approve"})
    assert refused.status_code == 409
    assert pm.post(f"/deliverable-versions/{v1['id']}/signoff-links", json={}).status_code == 409

    path = _signoff_path(pm, int(v2["id"]))
    forged = client.post(path, data={"form_token": "0" * 64, "decision": "approve"})
    assert forged.status_code == 403
    empty = client.post(path, data={"form_token": old_form, "decision": "approve"})
    assert empty.status_code == 403  # a token of another link does not fit this one
    no_comment = client.post(
        path, data={"form_token": _form_token(client.get(path).text), "decision": "changes"}
    )
    assert no_comment.status_code == 422 and "请写明需要修改的地方" in no_comment.text

    links = pm.get(f"/deliverable-versions/{v2['id']}/signoff-links").get_json()["items"]
    assert [(i["version_id"], i["revoked_at"]) for i in links] == [(v2["id"], None)]
    assert "url" not in links[0]
    assert pm.post(f"/signoff-links/{links[0]['id']}/revoke").get_json()["revoked_at"]
    status_link = pm.post(f"/orders/{world.o1.number}/status-links", json={}).get_json()
    assert pm.post(f"/signoff-links/{status_link['id']}/revoke").status_code == 404
    revoked = client.get(path)
    guessed = client.get("/c/s/" + "A" * 43)
    as_status = client.get("/c" + path.removeprefix("/c/s"))  # a sign-off token is no status link
    assert revoked.status_code == guessed.status_code == as_status.status_code == 404
    assert revoked.text == guessed.text == as_status.text
    assert client.get(f"{path}/file").status_code == 404
    assert (
        client.post(path, data={"form_token": old_form, "decision": "approve"}).status_code == 404
    )

    v3 = _upload(pm, did, 3)
    expiring = _signoff_path(pm, int(v3["id"]))
    session.expire_all()
    newest = session.scalars(select(ClientLink).order_by(ClientLink.id.desc())).first()
    assert newest is not None
    newest.expires_at = clock.now() - timedelta(seconds=1)
    session.commit()
    assert client.get(expiring).text == guessed.text
    session.expire_all()
    states = session.scalars(select(DeliverableVersion.signoff_status)).all()
    assert "approved" not in states and "changes" not in states


def test_milestone_waits_for_the_clients_signoff(
    api: ApiClient, world: World, client: FlaskClient, session: Session
) -> None:
    milestone = world.project.milestones[0]
    tail = next(i for i in world.o1.contract.payment_plan.installments if i.name == "尾款")  # type: ignore[union-attr]
    tail.trigger, tail.trigger_event, tail.due_date, tail.status = (
        "on_milestone",
        milestone.name,
        None,
        "planned",
    )
    session.commit()
    pm = api.as_(api.login("pm1"))
    code = world.project.code
    set_flag = pm.call(
        "PUT",
        f"/projects/{code}/milestones/{milestone.id}/signoff-required",
        json={"required": True},
    )
    assert set_flag.status_code == 200 and set_flag.get_json()["requires_signoff"] is True
    shown = pm.get(f"/projects/{code}").get_json()["milestones"]
    assert [m["requires_signoff"] for m in shown if m["id"] == milestone.id] == [True]
    accept = f"/projects/{code}/milestones/{milestone.id}/accept"
    assert pm.post(accept).status_code == 409  # no deliverable yet

    res = pm.post(
        f"/projects/{code}/deliverables", json={"name": "验收报告", "milestone_id": milestone.id}
    )
    did = res.get_json()["id"]
    version = _upload(pm, did, 1, name="report.pdf")
    refused = pm.post(accept)
    assert refused.status_code == 409 and "验收报告" in refused.get_json()["error"]["message"]
    path = _signoff_path(pm, int(version["id"]))
    token = _form_token(client.get(path).text)
    changes = client.post(path, data={"form_token": token, "decision": "changes", "comment": "改"})
    assert changes.status_code == 200 and "修改意见" in changes.text
    assert pm.post(accept).status_code == 409  # changes asked for is not a sign-off
    session.expire_all()
    assert session.get(Installment, tail.id).due_date is None  # type: ignore[union-attr]

    newer = _upload(pm, did, 2, name="report.pdf")
    path = _signoff_path(pm, int(newer["id"]))
    token = _form_token(client.get(path).text)
    assert client.post(path, data={"form_token": token, "decision": "approve"}).status_code == 200
    assert pm.post(accept).status_code == 200
    session.expire_all()
    due = session.get(Installment, tail.id)
    assert due is not None and due.status == "due"
    today = clock.today(clock.company_tz(session))
    assert due.due_date == today + timedelta(days=due.trigger_days)
    assert check_ledger(session) == []


def test_other_sales_get_404_everywhere(
    api: ApiClient, world: World, client: FlaskClient, session: Session
) -> None:
    pm = api.as_(api.login("pm1"))
    did = _deliverable(pm, world)
    vid = _upload(pm, did, 1)["id"]
    other = api.as_(api.login("sales2"))  # same team as the owner, not on this order
    calls = [
        ("GET", f"/projects/{world.o1.number}/deliverables", None),
        ("POST", f"/projects/{world.project.code}/deliverables", {"name": "x"}),
        ("GET", f"/deliverables/{did}", None),
        ("GET", f"/deliverables/{did}/versions", None),
        ("GET", f"/deliverable-versions/{vid}/file", None),
        ("POST", f"/deliverable-versions/{vid}/signoff-links", {}),
    ]
    for method, path, body in calls:
        res = other.call(method, path, json=body) if body is not None else other.call(method, path)
        assert res.status_code == 404, (path, res.status_code)
    upload = other.post(
        f"/deliverables/{did}/versions",
        data={"file": (io.BytesIO(PDF), "x.pdf", "application/pdf")},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 404
    missing = other.get("/deliverables/999999").get_json()["error"]
    hidden = other.get(f"/deliverables/{did}").get_json()["error"]
    assert missing["code"] == hidden["code"] and "sales1" not in str(hidden)
    web_login(client, "sales2")
    assert client.get(f"/m/deliverables/{did}").status_code == 404
    assert client.get(f"/m/deliverables/versions/{vid}/file").status_code == 404
    session.expire_all()
    assert len(session.scalars(select(DeliverableVersion)).all()) == 1
    assert len(session.scalars(select(Deliverable)).all()) == 1


def test_h5_pages_upload_list_superseded_and_create_a_link(
    world: World, client: FlaskClient, session: Session
) -> None:
    web_login(client, "pm1")
    listing = page(client, f"/m/projects/{world.o1.number}/deliverables")
    made = client.post(
        f"/m/projects/{world.project.code}/deliverables",
        data={"csrf": csrf_of(listing), "name": "需求说明书"},
    )
    assert made.status_code == 302
    detail_path = made.headers["Location"]
    for n in (1, 2):
        html = page(client, detail_path)
        res = client.post(
            f"{detail_path}/versions",
            data={
                "csrf": csrf_of(html),
                "file": (io.BytesIO(PDF + bytes([n])), "需求.pdf", "application/pdf"),
                "note": f"第{n}版",
            },
            content_type="multipart/form-data",
        )
        assert res.status_code == 302, res.text[:300]
    html = page(client, detail_path)
    assert "v2" in html and "当前版本" in html and "已取代" in html
    bad = client.post(
        f"{detail_path}/versions",
        data={"csrf": csrf_of(html), "file": (io.BytesIO(b"MZ\x90"), "x.pdf", "application/pdf")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 400 and "可执行文件" in bad.text
    link = client.post(f"{detail_path}/signoff-links", data={"csrf": csrf_of(html)})
    assert link.status_code == 200 and re.search(r"/c/s/[A-Za-z0-9_-]{43}", link.text)
    assert "需求说明书" in page(client, f"/m/projects/{world.project.code}/deliverables")
    session.expire_all()
    assert len(session.scalars(select(DeliverableVersion)).all()) == 2


def test_chat_lists_deliverables_with_current_versions(co: Co, rt: Runtime) -> None:
    with rt.db.transaction() as s:
        actor = s.scalars(select(Staff).where(Staff.userid == "pm1")).one()
        d = deliverables.create_deliverable(s, actor=actor, ref="SO-2026-0002", name="设计稿")
        deliverables.create_deliverable(s, actor=actor, ref="SO-2026-0002", name="培训手册")
        for n in (1, 2):
            deliverables.upload_version(
                s,
                actor=actor,
                deliverable_id=d.id,
                upload=Upload("a.pdf", PDF + bytes([n]), "application/pdf"),
                note=None,
                settings=rt.settings,
            )
    said = co.chat.app("pm1", "交付物 SO-2026-0002").text
    assert "设计稿 当前 v2" in said and "共 2 版" in said and "培训手册:尚无版本" in said
    assert "设计稿 当前 v2" in co.chat.app("pm1", "deliverables so-2026-0002").text
    assert "找不到" in co.chat.app("sales2", "交付物 SO-2026-0002").text
    assert co.chat.bot("sales1", "绑定 SO-2026-0002", chat="grp-d").text.startswith("本群已绑定")
    assert "设计稿 当前 v2" in co.chat.bot("pm1", "交付物", chat="grp-d").text


def test_parallel_uploads_number_versions_without_gaps_or_two_currents(
    app: Flask, api: ApiClient, world: World, rt: Runtime
) -> None:
    """Eight uploads at the same moment, each in its own request and transaction: v1…v8, one
    current (the deliverable's row lock), and the parallel answers of the client page agree."""
    token = api.login("pm1")
    did = _deliverable(api.as_(token), world)
    clients = [ApiClient(app, app.test_client()).as_(token) for _ in range(8)]
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []

    def run(n: int, c: ApiClient) -> None:
        barrier.wait(timeout=20)
        res = c.post(
            f"/deliverables/{did}/versions",
            data={"file": (io.BytesIO(PDF + bytes([n])), "p.pdf", "application/pdf")},
            content_type="multipart/form-data",
        )
        statuses.append(res.status_code)

    threads = [threading.Thread(target=run, args=(n, c)) for n, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert statuses == [201] * 8
    with rt.db.transaction() as s:
        rows = s.scalars(select(DeliverableVersion).order_by(DeliverableVersion.number)).all()
        assert [v.number for v in rows] == list(range(1, 9))
        assert [v.number for v in rows if v.superseded_at is None] == [8]


def test_sending_through_the_customer_contact_task_or_copy_only(
    api: ApiClient, world: World, session: Session
) -> None:
    session.add(ChatBinding(kind="webhook", chat_id="robot-key-1", order_id=world.o1.id))
    session.commit()
    pm = api.as_(api.login("pm1"))
    did = _deliverable(pm, world)
    vid = _upload(pm, did, 1)["id"]
    card = session.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient == "robot-key-1")
    ).one()
    assert card.channel == "webhook" and card.payload["msgtype"] == "template_card"
    assert card.payload["template_card"]["main_title"]["title"] == "设计稿 v1 已上传"
    check_webhook(card.payload)

    copy_only = pm.post(f"/deliverable-versions/{vid}/signoff-links", json={"send": True})
    assert copy_only.status_code == 201 and copy_only.get_json()["sent"] is False
    world.c1.external_userid = "wmEXT001"
    session.commit()
    sent = pm.post(f"/deliverable-versions/{vid}/signoff-links", json={"send": True}).get_json()
    assert sent["sent"] is True
    task = session.scalars(
        select(OutboxMessage).where(OutboxMessage.channel == "external_template")
    ).one()
    assert task.recipient == "pm1" and task.payload["sender"] == "pm1"
    assert task.payload["external_userid"] == ["wmEXT001"]
    assert sent["url"] in task.payload["text"]["content"]


def test_the_status_page_leads_to_the_signoff_page_while_a_live_link_exists(
    api: ApiClient, world: World, client: FlaskClient, session: Session
) -> None:
    pm = api.as_(api.login("pm1"))
    did = _deliverable(pm, world)
    vid = _upload(pm, did, 1)["id"]
    status = pm.post(f"/orders/{world.o1.number}/status-links", json={}).get_json()
    status_path = re.search(r"/c/[A-Za-z0-9_-]+", status["url"]).group(0)  # type: ignore[union-attr]
    via_status = f"{status_path}/v/{vid}"
    assert client.get(via_status).status_code == 404  # no sign-off asked for yet
    made = pm.post(f"/deliverable-versions/{vid}/signoff-links", json={}).get_json()
    html = client.get(via_status)
    assert html.status_code == 200 and "设计稿 v1" in html.text
    download = client.get(f"{via_status}/file")
    assert download.status_code == 200 and download.data == PDF + b"\x01"
    download.close()

    assert client.get(f"{status_path}/v/{int(vid) + 1000}").status_code == 404  # no such version
    # A version of another order, with a live sign-off link, is not reachable from this one.
    world.o2.status = "in_progress"
    create_from_order(session, world.o2)
    session.commit()
    sales2 = api.as_(api.login("sales2"))
    other = sales2.post(f"/projects/{world.o2.number}/deliverables", json={"name": "别家"})
    other_vid = _upload(sales2, other.get_json()["id"], 9)["id"]
    _signoff_path(sales2, other_vid)
    assert client.get(f"{status_path}/v/{other_vid}").status_code == 404

    assert pm.post(f"/signoff-links/{made['id']}/revoke").status_code == 200
    assert client.get(via_status).status_code == 404
    listed = client.get(status_path).text
    assert "待您确认的交付物" in listed and "请联系项目经理获取确认链接" in listed
    assert via_status not in listed

    pm.post(f"/deliverable-versions/{vid}/signoff-links", json={})
    token = _form_token(client.get(via_status).text)
    answer = client.post(
        via_status, data={"form_token": token, "decision": "changes", "comment": "颜色再调整"}
    )
    assert answer.status_code == 200 and "颜色再调整" in answer.text
    session.expire_all()
    version = session.get(DeliverableVersion, vid)
    assert version is not None and version.signoff_status == "changes"
    assert version.deliverable.status == "rejected"
