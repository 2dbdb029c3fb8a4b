"""Report charts and files in WeCom (issue 13), end to end through the outbox: a chat command
answers a text summary at once; a job renders the PNG and queues it; delivery uploads it with
`media/upload` at send time (again on every retry) and sends the media_id. The WeCom edge is the
strict fake server (tests/fakes), which checks the upload's type, size and format and that the
message names a media_id it issued. Sandbox mode writes the image to instance/outbox-media/.
Also: the weekly management report and the monthly finance pack on the first working day."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.bot.router import CLIENT_GROUP_REFUSAL
from orderdesk.bot.router import router as global_router
from orderdesk.core import clock
from orderdesk.jobs import reports as report_jobs
from orderdesk.models import ChatBinding, OutboxMessage, TimeEntry
from orderdesk.money.plans import generate_plan
from orderdesk.reports.sending import queue_chart
from orderdesk.reports.table import Table
from orderdesk.runtime import Runtime
from orderdesk.wecom import delivery
from tests.chat_world import bind, build_world, text
from tests.fakes.live import fake_wecom, go_live
from tests.fakes.wecom_rules import check_outbox
from tests.fakes.wecom_server import FakeWeCom
from tests.jobs_support import run_jobs
from tests.money_world import contract_of, order_with_contract, project_for

NOW = datetime(2026, 6, 30, 4, 0, tzinfo=UTC)  # Tuesday 12:00 in Shanghai
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def world(rt: Runtime) -> None:
    with rt.db.transaction() as s:
        w = build_world(s)
        bind(s, "clientgrp", w.customers["yunqi"], "client")
        o = order_with_contract(
            s,
            owner=w.staff["zhangsan"],
            amount="10600.00",
            number="SO-9001",
            signed=date(2026, 6, 1),
            terms=[{"amount": "10600.00", "trigger": "on_date", "date": "2026-06-10"}],
        )
        generate_plan(s, contract=contract_of(o), order=o)
        project = project_for(s, o)
        s.add(
            TimeEntry(
                staff=w.staff["zhoub"],
                project_id=project.id,
                work_date=date(2026, 6, 3),
                hours=8,
            )
        )


@pytest.fixture
def fake() -> Iterator[FakeWeCom]:
    with fake_wecom() as server:
        yield server


@pytest.fixture
def live(rt: Runtime, fake: FakeWeCom) -> Iterator[Runtime]:
    with go_live(rt, fake) as live_rt:
        yield live_rt


def say(rt: Runtime, user: str, content: str, group: str | None = None) -> str:
    with clock.frozen(NOW):
        answer = global_router.dispatch(text(user, content, group=group), rt)
        run_jobs(rt)
    body = getattr(answer, "content", None)
    assert isinstance(body, str)
    return body


def image_rows(session: Session) -> list[OutboxMessage]:
    session.expire_all()
    rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    return [r for r in rows if (r.payload or {}).get("msgtype") in ("image", "file")]


def deliver(rt: Runtime) -> None:
    with clock.frozen(NOW):
        delivery.deliver_batches(rt)


@pytest.mark.usefixtures("world")
def test_aging_chart_is_uploaded_at_delivery_and_sent_as_an_image(
    live: Runtime, fake: FakeWeCom, session: Session
) -> None:
    said = say(live, "zhaoliu", "账龄")
    assert "合计 ¥10,600.00" in said and "图表稍后" in said
    [row] = image_rows(session)
    assert row.channel == "app_message" and row.recipient == "zhaoliu"
    assert "media_id" not in str(row.payload)  # a reference to the bytes, never a media_id
    deliver(live)
    assert fake.refusals == []
    [upload] = fake.calls_to("media/upload")
    assert upload.query["type"] == "image"
    [sent] = [c.body for c in fake.calls_to("message/send")]
    assert sent is not None and sent["msgtype"] == "image" and sent["touser"] == "zhaoliu"
    kind, name, content, _at = fake.media[sent["image"]["media_id"]]
    assert kind == "image" and content.startswith(PNG) and name.endswith(".png")
    session.expire_all()
    assert session.get(OutboxMessage, row.id).status == "sent"  # type: ignore[union-attr]


@pytest.mark.usefixtures("world")
def test_a_retry_uploads_again(rt: Runtime, fake: FakeWeCom, session: Session) -> None:
    with go_live(rt, fake, busy_retries=0) as live:
        fake.fail_http("message/send", 500)
        say(live, "zhaoliu", "报表 本月")  # delivery runs after the commit (JOBS_SYNC): fails
        [row] = image_rows(session)
        assert row.status == "pending" and row.attempts == 1
        row.next_attempt_at = NOW
        session.commit()
        deliver(live)
    uploads = fake.calls_to("media/upload")
    assert len(uploads) == 2  # the first media_id is not reused: it may have expired
    assert fake.refusals == []
    assert image_rows(session)[0].status == "sent"


@pytest.mark.usefixtures("world")
def test_profit_and_utilisation_commands(live: Runtime, fake: FakeWeCom, session: Session) -> None:
    said = say(live, "zhaoliu", "项目利润 P-SO-9001")
    assert "合同额(不含税)¥10,000.00" in said and "图表稍后" in said
    said = say(live, "boss", "利用率 6月")
    assert "工时利用率(2026-06" in said and "周八 8.00 小时" in said
    assert "无法识别的期间" in say(live, "boss", "利用率 明年")
    assert "找不到项目" in say(live, "lisi", "项目利润 P-SO-9001")  # not lisi's order
    assert "¥10,000.00" in say(live, "zhaoliu", "profit so-9001")  # by its order number
    deliver(live)
    assert fake.refusals == []
    assert len(fake.calls_to("media/upload")) == 3
    assert [c.body["msgtype"] for c in fake.calls_to("message/send") if c.body] == ["image"] * 3


@pytest.mark.usefixtures("world")
def test_nothing_internal_in_a_client_group(rt: Runtime, session: Session) -> None:
    for typed in ("项目利润 P-SO-9001", "利用率 6月", "账龄", "回款率 2026Q2"):
        assert say(rt, "boss", typed, group="clientgrp") == CLIENT_GROUP_REFUSAL
    assert image_rows(session) == []


@pytest.mark.usefixtures("world")
def test_sandbox_writes_the_image_to_instance_outbox_media(rt: Runtime, session: Session) -> None:
    say(rt, "zhaoliu", "回款率 2026Q2")
    [row] = image_rows(session)
    check_outbox(row.channel, row.recipient, row.payload)
    deliver(rt)
    folder = rt.settings.storage_path.parent / "outbox-media"
    [written] = list(folder.iterdir())
    assert written.name.startswith(f"{row.id}-") and written.read_bytes().startswith(PNG)


def _management_group(rt: Runtime, kind: str, chat_id: str) -> None:
    with rt.db.transaction() as s:
        s.add(ChatBinding(kind=kind, chat_id=chat_id, name="管理层", audience="management"))


def _at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour - 8, 0, tzinfo=UTC)


@pytest.mark.usefixtures("world")
def test_weekly_management_report_on_the_first_working_day(
    live: Runtime, fake: FakeWeCom, session: Session
) -> None:
    _management_group(live, "appchat", "mgmt01")
    _management_group(live, "webhook", "robot-key-1")
    # 5-7 Oct 2026 are National Day holidays: the week's report waits for Thursday the 8th.
    for day in (date(2026, 10, 5), date(2026, 10, 6), date(2026, 10, 7)):
        with clock.frozen(_at(day)):
            assert report_jobs.weekly_management_report()["skipped"]
    with clock.frozen(_at(date(2026, 10, 8))):
        stats = report_jobs.weekly_management_report()
        again = report_jobs.weekly_management_report()
    assert stats["groups"] == 2 and stats["messages"] == 8  # text + 3 charts, per group
    assert len(session.scalars(select(OutboxMessage)).all()) == 8  # the second run added none
    with clock.frozen(_at(date(2026, 10, 8), 11)):
        for _ in range(4):  # each chart waits for the message before it
            delivery.deliver_batches(live)
    assert again["messages"] == 8 and fake.refusals == []
    appchat = [c.body for c in fake.calls_to("appchat/send") if c.body]
    assert [b["msgtype"] for b in appchat] == ["markdown", "image", "image", "image"]
    assert "管理周报(2026-W41)" in appchat[0]["markdown"]["content"]
    assert "逾期最多的客户" in appchat[0]["markdown"]["content"]
    webhook = [c.body for c in fake.calls_to("webhook/send") if c.body]
    assert [b["msgtype"] for b in webhook] == ["markdown", "image", "image", "image"]
    assert webhook[1]["image"]["base64"] and webhook[1]["image"]["md5"]  # inline, no upload
    assert len(fake.calls_to("media/upload")) == 3  # the appchat's three charts


@pytest.mark.usefixtures("world")
def test_monthly_finance_pack_is_a_workbook_for_finance(
    live: Runtime, fake: FakeWeCom, session: Session
) -> None:
    with clock.frozen(_at(date(2026, 7, 2))):
        assert report_jobs.monthly_finance_pack()["skipped"]  # 1 July was the first working day
    with clock.frozen(_at(date(2026, 7, 1))):
        assert report_jobs.monthly_finance_pack()["messages"] == 2
    with clock.frozen(_at(date(2026, 7, 1), 10)):
        delivery.deliver_batches(live)
        delivery.deliver_batches(live)
    assert fake.refusals == []
    sends = [c.body for c in fake.calls_to("message/send") if c.body]
    assert [b["msgtype"] for b in sends] == ["markdown", "file"]
    assert (
        sends[0]["touser"] == "zhaoliu" and "财务月报(2026-06)" in sends[0]["markdown"]["content"]
    )
    [upload] = fake.calls_to("media/upload")
    assert upload.query["type"] == "file"
    _kind, name, content, _when = fake.media[sends[1]["file"]["media_id"]]
    assert name.endswith(".xlsx")
    book = zipfile.ZipFile(io.BytesIO(content))
    sheets = book.read("xl/workbook.xml").decode()
    for title in ("应收账龄", "签约、开票与回款", "回款率与 DSO", "项目利润", "销售排行榜"):
        assert title in sheets, title


@pytest.mark.usefixtures("world")
def test_a_message_whose_media_is_gone_dies_instead_of_retrying(
    rt: Runtime, session: Session
) -> None:
    table = Table("pipeline", "销售漏斗", [], [])
    with clock.frozen(NOW):
        row = queue_chart(
            session,
            settings=rt.settings,
            table=table,
            channel="app_message",
            recipient="zhaoliu",
            key="gone-1",
        )
    (rt.settings.storage_path / row.payload["media"]["path"]).unlink()
    session.commit()
    deliver(rt)
    session.expire_all()
    dead = session.get(OutboxMessage, row.id)
    assert dead is not None and dead.status == "dead" and "missing" in (dead.last_error or "")
