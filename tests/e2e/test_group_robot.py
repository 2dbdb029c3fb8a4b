"""A bot-bound group registers its group robot (`群机器人`), and what the group asks for or
should hear reaches it through the robot: signed bot callbacks through the Flask app, delivery
against the strict fake WeCom (webhook image inline: base64 + md5 of the very PNG rendered).

Without a robot the chart goes 1:1 to the asker, as before; only someone who could re-point the
binding may register a robot; a bad key is refused and nothing is stored; the key is never
echoed; a duplicate callback gives one image; a progress note, a deliverable card and a receipt
note reach the robot, and an internal note never reaches a client-audience group."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator

import pytest
from rq import SimpleWorker
from sqlalchemy import select

from orderdesk.bot.router import CLIENT_GROUP_REFUSAL, GROUP_ONLY_MESSAGE
from orderdesk.delivery import deliverables
from orderdesk.jobqueue import QUEUES
from orderdesk.jobs import reports as report_jobs
from orderdesk.models import Activity, ChatBinding, Order, OutboxMessage, Staff
from orderdesk.orders.attachments import Upload
from orderdesk.orders.robots import NOT_ALLOWED, NOT_BOUND
from orderdesk.runtime import Runtime
from orderdesk.web import sim
from orderdesk.wecom import delivery, signing
from tests.chat_world import Co, company  # noqa: F401 - provides the `co` fixture
from tests.fakes.live import fake_wecom, go_live
from tests.fakes.wecom_server import FakeWeCom

GROUP = "grp-robot"
KEY = "3f2a9c1e-7b4d-4e8f-9a6b-1c2d3e4f5a6b"
URL = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def fake() -> Iterator[FakeWeCom]:
    with fake_wecom() as server:
        yield server


@pytest.fixture
def live(co: Co, fake: FakeWeCom) -> Iterator[Co]:
    with go_live(co.rt, fake):
        yield co


def settle(rt: Runtime) -> None:
    """Run what went to RQ (with Redis), then deliver whatever is still due."""
    if rt.redis is not None:
        queues = [rt.queue.rq_queue(q) for q in QUEUES]
        SimpleWorker(queues, connection=rt.redis).work(burst=True)
    delivery.deliver_batches(rt)


def bot(co: Co, user: str, content: str, chat: str | None = GROUP) -> str:
    said = co.chat.bot(user, content, chat=chat).text
    settle(co.rt)
    return said


def binding(co: Co, chat: str = GROUP) -> ChatBinding:
    with co.rt.db.transaction() as s:
        row = s.scalar(select(ChatBinding).where(ChatBinding.chat_id == chat))
        assert row is not None
        s.expunge(row)
        return row


def webhook_bodies(fake: FakeWeCom, key: str = KEY) -> list[dict]:
    return [c.body for c in fake.calls_to("webhook/send") if c.body and c.query["key"] == key]


def register(co: Co) -> None:
    assert bot(co, "sales1", "绑定 SO-2026-0002").startswith("本群已绑定 SO-2026-0002")
    said = bot(co, "sales1", f"群机器人 {URL}")
    assert said.startswith("已登记本群的群机器人(****5a6b)") and KEY not in said


def test_a_chart_asked_in_a_group_with_a_robot_arrives_there_as_an_inline_image(
    live: Co, fake: FakeWeCom
) -> None:
    register(live)
    [hello] = webhook_bodies(fake)
    assert (
        hello["msgtype"] == "text" and "OrderDesk 已接入本群的群机器人" in hello["text"]["content"]
    )

    said = bot(live, "fin1", "账龄")
    assert "图表稍后发到本群" in said and "私信" not in said
    assert fake.refusals == []
    [image] = [b for b in webhook_bodies(fake) if b["msgtype"] == "image"]
    raw = base64.b64decode(image["image"]["base64"])
    assert raw.startswith(PNG) and image["image"]["md5"] == hashlib.md5(raw).hexdigest()
    with live.rt.db.transaction() as s:
        row = s.scalars(select(OutboxMessage).where(OutboxMessage.channel == "webhook")).all()[-1]
        assert row.status == "sent" and row.recipient == KEY
        stashed = live.rt.settings.storage_path / row.payload["media"]["path"]
    assert raw == stashed.read_bytes()  # the very PNG that was rendered
    # Nothing went 1:1, nothing was uploaded: a webhook image travels inline.
    assert fake.calls_to("media/upload") == []
    assert not [
        c for c in fake.calls_to("message/send") if (c.body or {}).get("msgtype") == "image"
    ]


def test_a_duplicate_callback_gives_one_image(live: Co, fake: FakeWeCom) -> None:
    register(live)
    req = signing.bot_text(live.rt.settings, "fin1", "报表 2026", chat_id=GROUP)
    for _ in range(2):  # WeCom retries a callback it thinks went unanswered
        live.chat._post(req)
        settle(live.rt)
    assert fake.refusals == []
    assert [b["msgtype"] for b in webhook_bodies(fake)] == ["text", "image"]
    assert live.count(OutboxMessage, OutboxMessage.idempotency_key.like("chart:%")) == 1


def test_without_a_robot_the_chart_goes_to_the_asker(live: Co, fake: FakeWeCom) -> None:
    bound = bot(live, "sales1", "绑定 SO-2026-0002")
    assert "群机器人 <Webhook地址>" in bound  # truthful: no robot, no notices yet
    said = bot(live, "fin1", "账龄")
    assert "图表稍后以图片消息私信发给你" in said
    [sent] = [
        c.body for c in fake.calls_to("message/send") if (c.body or {}).get("msgtype") == "image"
    ]
    assert sent is not None and sent["touser"] == "fin1"
    assert fake.calls_to("webhook/send") == [] and fake.refusals == []


def test_who_may_register_and_what_is_refused(co: Co) -> None:
    assert bot(co, "sales1", f"群机器人 {URL}") == NOT_BOUND
    assert bot(co, "sales1", f"群机器人 {URL}", chat=None) == GROUP_ONLY_MESSAGE
    bot(co, "sales1", "绑定 SO-2026-0002")
    # sales2 is neither the order's owner, nor their manager, nor an admin.
    assert bot(co, "sales2", f"robot {URL}") == NOT_ALLOWED
    bad = [
        "12345",
        f"{KEY}x",
        f"https://evil.example.com/cgi-bin/webhook/send?key={KEY}",
        f"http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}",
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=secret-but-not-a-uuid",
    ]
    for typed in bad:
        said = bot(co, "sales1", f"webhook {typed}")
        assert said.startswith("群机器人的 Webhook 地址不对") and "secret" not in said
        assert "evil" not in said and KEY not in said
    assert binding(co).robot_key is None
    assert co.count(OutboxMessage, OutboxMessage.channel == "webhook") == 0

    assert bot(co, "mgr1", f"群机器人 {KEY}").startswith("已登记")  # sales1's manager, bare key
    assert binding(co).robot_key == KEY
    assert bot(co, "sales1", "群机器人") == "本群的群机器人:****5a6b(删除:群机器人 删除)"
    again = bot(co, "sales1", f"群机器人 {URL}")
    assert again == "本群已登记这个群机器人(****5a6b),无需重复登记"
    assert co.count(OutboxMessage, OutboxMessage.channel == "webhook") == 1  # one greeting
    with co.rt.db.transaction() as s:
        notes = s.scalars(select(Activity).where(Activity.kind == "binding")).all()
        assert any("登记了本群的群机器人(****5a6b)" in a.body for a in notes)
        assert all(KEY not in a.body and KEY not in str(a.data) for a in notes)
    # The same robot cannot be registered in a second group: its key posts into its own group.
    bot(co, "sales1", "绑定 SO-2026-0002", chat="grp-other")
    assert "已登记在另一个群" in bot(co, "sales1", f"群机器人 {URL}", chat="grp-other")
    assert binding(co, "grp-other").robot_key is None

    assert bot(co, "sales1", "群机器人 删除").startswith("已删除本群的群机器人(****5a6b)")
    assert binding(co).robot_key is None
    assert bot(co, "sales1", "群机器人 remove") == "本群还没有登记群机器人"


def test_nothing_can_be_registered_in_a_client_group(co: Co) -> None:
    bound = bot(co, "sales1", "绑定 SO-2026-0002 客户群", chat="grp-client")
    assert (
        bound
        == "本群已绑定 SO-2026-0002(客户群)。客户群只能在这里查询,OrderDesk 不会向客户群推送通知"
    )
    assert bot(co, "sales1", f"群机器人 {URL}", chat="grp-client") == CLIENT_GROUP_REFUSAL
    assert bot(co, "fin1", "账龄", chat="grp-client") == CLIENT_GROUP_REFUSAL
    assert binding(co, "grp-client").robot_key is None


def test_removing_the_robot_drops_what_still_waited_for_it(co: Co) -> None:
    register(co)
    with co.rt.db.transaction() as s:  # a message still waiting for the robot
        s.add(
            OutboxMessage(
                idempotency_key="waiting-1",
                channel="webhook",
                recipient=KEY,
                payload={"msgtype": "text", "text": {"content": "稍后"}},
            )
        )
    bot(co, "sales1", "群机器人 删除")
    with co.rt.db.transaction() as s:
        row = s.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == "waiting-1"))
        assert row is not None and row.status == "dead"


def test_progress_reaches_the_robot_and_internal_notes_never_a_client_group(
    live: Co, fake: FakeWeCom
) -> None:
    register(live)
    client_key = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    order = live.order("SO-2026-0002")
    with live.rt.db.transaction() as s:  # a client group of the same order that has a robot
        s.add(
            ChatBinding(
                kind="bot_group",
                chat_id="grp-client",
                order_id=order.id,
                customer_id=order.customer_id,
                audience="client",
                robot_key=client_key,
            )
        )
    said = bot(live, "pm1", "进度 完成联调")
    assert said.startswith("已记录 SO-2026-0002 的进度")
    texts = [b["text"]["content"] for b in webhook_bodies(fake) if b["msgtype"] == "text"]
    assert any(t.startswith("【SO-2026-0002 进展】孙项目:完成联调") for t in texts)
    assert webhook_bodies(fake, client_key) == [] and fake.refusals == []
    with live.rt.db.transaction() as s:
        note = s.scalar(select(Activity).where(Activity.kind == "progress"))
        assert note is not None and note.internal and note.data["pushed_groups"] == 1
        assert s.scalar(select(Order.number).where(Order.id == note.order_id)) == "SO-2026-0002"


def test_binding_again_says_the_robot_carries_the_notices(co: Co) -> None:
    register(co)
    again = bot(co, "sales1", "绑定 SO-2026-0002")
    assert again == "本群已绑定 SO-2026-0002(内部群),相关通知会经本群的群机器人推送到这里"


def test_a_new_deliverable_version_and_a_receipt_reach_the_robot(live: Co, fake: FakeWeCom) -> None:
    register(live)
    with live.rt.db.transaction() as s:
        pm = s.scalars(select(Staff).where(Staff.userid == "pm1")).one()
        d = deliverables.create_deliverable(s, actor=pm, ref="SO-2026-0002", name="设计稿")
        deliverables.upload_version(
            s,
            actor=pm,
            deliverable_id=d.id,
            upload=Upload("a.pdf", b"%PDF-1.4 design 1", "application/pdf"),
            note=None,
            settings=live.rt.settings,
        )
    settle(live.rt)
    said = bot(live, "fin1", "回款 3万")
    assert said.startswith("已登记 SO-2026-0002 回款")
    bodies = webhook_bodies(fake)
    [card] = [b["template_card"] for b in bodies if b["msgtype"] == "template_card"]
    assert card["main_title"]["title"] == "设计稿 v1 已上传"
    [note] = [b["markdown"]["content"] for b in bodies if b["msgtype"] == "markdown"]
    assert "订单 SO-2026-0002 收到一笔回款" in note and "¥" not in note  # no figure in a group
    assert fake.refusals == []


def test_the_chart_job_checks_the_group_again_when_it_sends(co: Co) -> None:
    """Asked in a group with a robot, then the group was re-bound as a client group before the
    job ran: the chart goes to the asker 1:1, never into the client group."""
    register(co)
    with co.rt.db.transaction() as s:
        row = s.scalar(select(ChatBinding).where(ChatBinding.chat_id == GROUP))
        assert row is not None
        row.audience = "client"
    assert report_jobs.send_report_chart(
        userid="fin1", name="ar-aging", key="chart:late", chat_id=GROUP, group_by="customer"
    )
    with co.rt.db.transaction() as s:
        sent = s.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == "chart:late"))
        assert sent is not None and (sent.channel, sent.recipient) == ("app_message", "fin1")


def test_the_simulator_shows_what_the_robot_posted_in_the_group(co: Co) -> None:
    register(co)
    with co.rt.db.transaction() as s:
        bubbles = sim.feed(s, userid="sales1", chat_id=GROUP)
        assert any("OrderDesk 已接入本群的群机器人" in str(b.payload) for b in bubbles)
        assert sim.feed(s, userid="sales1", chat_id="grp-other") == []
