"""Outbox delivery against the fake WeCom server: retries, crash recovery, rate limits, once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from orderdesk.core import clock
from orderdesk.models.wecom import OutboxMessage
from orderdesk.runtime import Runtime
from orderdesk.wecom import cards, delivery, outbox
from orderdesk.wecom.client import get_client
from orderdesk.wecom.ratelimit import RateLimits
from tests.fakes.live import fake_wecom, go_live
from tests.fakes.wecom_server import FakeWeCom

ROOT = Path(__file__).resolve().parents[2]

LATER = timedelta(hours=2)  # beyond any backoff


@pytest.fixture
def fake() -> Iterator[FakeWeCom]:
    with fake_wecom() as server:
        yield server


@pytest.fixture
def live(rt: Runtime, fake: FakeWeCom) -> Iterator[Runtime]:
    """`rt` switched to WECOM_MODE=live against the fake server, with a fast-failing client."""
    with go_live(
        rt, fake, timeout=(1.0, 0.5), busy_retries=1, busy_backoff=0.01, outbox_max_attempts=4
    ) as live_rt:
        yield live_rt


def queue(rt: Runtime, *items: tuple[str, str, str, dict[str, Any]]) -> list[int]:
    """Add outbox rows (key, channel, recipient, payload) and commit WITHOUT triggering the
    after-commit delivery, so each test drives delivery itself."""
    with rt.db.transaction() as s:
        rows = [outbox.add(s, key=k, channel=c, recipient=r, payload=p) for k, c, r, p in items]
        s.flush()
        ids = [row.id for row in rows]
        s.info.pop("outbox_dirty", None)
    return ids


def texts(n: int, to: str = "zhangsan", prefix: str = "m") -> list[tuple[str, str, str, dict]]:
    return [(f"{prefix}-{i}", "app_message", to, cards.app_text(f"消息 {i}")) for i in range(n)]


def rows(rt: Runtime) -> list[OutboxMessage]:
    with rt.db.transaction() as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def deliver_later(rt: Runtime, delta: timedelta = LATER) -> delivery.DeliveryReport:
    with clock.frozen(clock.now() + delta):
        delivery.recover_stuck(rt)
        return delivery.deliver_batches(rt)


def test_sandbox_records_as_sent_without_network(rt: Runtime) -> None:
    assert rt.settings.sandbox
    card = cards.button_interaction(task_id="appr-1", title="审批", buttons=[("同意", "approve:1")])
    # The runtime delivers after commit (JOBS_SYNC inline without Redis); deliver explicitly
    # too so the Redis run (where the job went to RQ) checks the same thing.
    with rt.db.transaction() as s:
        outbox.add(
            s,
            key="c1",
            channel="app_message",
            recipient="u1",
            payload=cards.app_template_card(card),
        )
    delivery.deliver_due(rt)
    [row] = rows(rt)
    assert row.status == "sent" and row.result == {"errcode": 0, "errmsg": "ok", "sandbox": True}
    assert row.response_code == f"sandbox-rc-{row.id}"
    assert row.sent_at is not None and row.attempts == 1


def test_live_delivery_stores_msgid_and_response_code(live: Runtime, fake: FakeWeCom) -> None:
    card = cards.button_interaction(task_id="appr-9", title="审批", buttons=[("同意", "approve:9")])
    queue(
        live,
        ("card", "app_message", "zhangsan|lisi", cards.app_template_card(card)),
        ("hook", "webhook", "robot-key", cards.webhook_markdown("**日报**")),
        ("chat", "appchat", "chat1", cards.app_text("群消息")),
        ("bot", "bot_response", fake.response_url("group"), cards.app_markdown("完成")),
        (
            "ext",
            "external_template",
            "zhangsan",
            {"external_userid": ["wm1"], "text": {"content": "您好"}},
        ),
        (
            "mk",
            "appchat_create",
            "proj1",
            {"name": "项目群", "owner": "zhangsan", "userlist": ["a", "b"]},
        ),
    )
    report = delivery.deliver_batches(live)
    assert report.sent == 6, [r.last_error for r in rows(live)]
    by_key = {r.idempotency_key: r for r in rows(live)}
    assert by_key["card"].response_code and by_key["card"].response_code.startswith("rc-")
    assert by_key["card"].result and by_key["card"].result["msgid"].startswith("msg-")
    sent = fake.calls_to("message/send")[0].body or {}
    assert sent["touser"] == "zhangsan|lisi" and sent["enable_duplicate_check"] == 1
    assert fake.calls_to("appchat/create")[0].body == {
        "name": "项目群", "owner": "zhangsan", "userlist": ["a", "b"], "chatid": "proj1"
    }  # fmt: skip
    assert (fake.calls_to("externalcontact/add_msg_template")[0].body or {})["sender"] == "zhangsan"
    assert fake.calls_to("webhook/send")[0].query == {"key": "robot-key"}
    # Nothing is delivered twice: a second pass finds nothing due.
    assert delivery.deliver_due(live) == 0
    assert len(fake.calls_to("message/send")) == 1


def test_wecom_down_for_a_while_then_every_message_exactly_once(
    live: Runtime, fake: FakeWeCom
) -> None:
    queue(live, *texts(5))
    fake.down = True
    first = delivery.deliver_batches(live)
    assert first.retrying == 5
    assert all(r.status == "pending" and r.attempts == 1 and r.last_error for r in rows(live))
    assert all(r.next_attempt_at > clock.now() for r in rows(live))
    assert delivery.deliver_due(live) == 0  # backing off: nothing due yet

    second = deliver_later(live)
    assert second.retrying == 5  # still down
    fake.down = False
    third = deliver_later(live, 2 * LATER)
    assert third.sent == 5
    assert [r.status for r in rows(live)] == ["sent"] * 5
    assert sorted(m["text"]["content"] for m in fake.delivered) == [f"消息 {i}" for i in range(5)]
    assert deliver_later(live, 3 * LATER).claimed == 0


def test_backoff_grows_exponentially_with_jitter() -> None:
    for attempts in range(1, 8):
        full = min(delivery.BACKOFF_CAP, delivery.BACKOFF_BASE * 2 ** (attempts - 1))
        for _ in range(20):
            assert full / 2 <= delivery.backoff_seconds(attempts) <= full


def test_dead_after_max_attempts_and_permanent_errors_die_at_once(
    live: Runtime, fake: FakeWeCom
) -> None:
    queue(live, ("bad", "app_message", "nobody", cards.app_text("x")))
    fake.fail("message/send", 81013)
    delivery.deliver_due(live)
    [row] = rows(live)
    assert row.status == "dead" and row.attempts == 1 and "81013" in (row.last_error or "")

    queue(live, ("busy", "app_message", "zhangsan", cards.app_text("y")))
    fake.fail("message/send", *([45009] * 20))
    for step in range(1, 6):
        deliver_later(live, step * LATER)
    busy = next(r for r in rows(live) if r.idempotency_key == "busy")
    assert busy.status == "dead"
    assert busy.attempts == live.settings.outbox_max_attempts == 4
    assert "45009" in (busy.last_error or "")
    assert fake.delivered == []


def test_timeout_is_retried_then_delivered_once(live: Runtime, fake: FakeWeCom) -> None:
    queue(live, *texts(1))
    assert live.extensions[
        "orderdesk.wecom.client"
    ].access_token  # token first: only the send is slow
    fake.delay = 1.0  # > read timeout 0.5 s
    report = delivery.deliver_batches(live)
    assert report.retrying == 1 and "timeout" in (rows(live)[0].last_error or "")
    fake.delay = 0.0
    assert deliver_later(live).sent == 1
    # The timed-out request did reach WeCom; the duplicate check kept it to one delivery.
    assert len(fake.delivered) == 1


def test_rate_limit_waits_never_drops(live: Runtime, fake: FakeWeCom) -> None:
    live.extensions["wecom.rate_limits"] = RateLimits(member_per_minute=3, minute=0.6)
    queue(live, *texts(5))
    first = delivery.deliver_batches(live)
    assert (first.sent, first.waiting) == (3, 2)
    waiting = [r for r in rows(live) if r.status == "pending"]
    assert len(waiting) == 2
    for r in waiting:
        assert r.attempts == 0  # a wait is not a failed attempt
        assert r.next_attempt_at > clock.now()
        assert (r.last_error or "").startswith("rate limit")
    # Once the (shortened) window has passed, the waiting messages go out.
    threading.Event().wait(0.7)
    assert deliver_later(live, timedelta(seconds=5)).sent == 2
    assert len(fake.delivered) == 5


def test_webhook_limit_is_per_robot(live: Runtime, fake: FakeWeCom) -> None:
    live.extensions["wecom.rate_limits"] = RateLimits(webhook_per_minute=2)
    hooks = [(f"h{i}", "webhook", "robot-a", cards.webhook_text(f"{i}")) for i in range(3)]
    queue(live, *hooks, ("other", "webhook", "robot-b", cards.webhook_text("b")))
    report = delivery.deliver_batches(live)
    assert (report.sent, report.waiting) == (3, 1)
    [late] = [r for r in rows(live) if r.status == "pending"]
    assert late.idempotency_key == "h2"


def test_card_update_waits_for_the_card_response_code(live: Runtime, fake: FakeWeCom) -> None:
    card = cards.button_interaction(task_id="appr-5", title="审批", buttons=[("同意", "approve:5")])
    queue(
        live,
        ("approval-card:5", "app_message", "zhangsan", cards.app_template_card(card)),
        (
            "approval-card-update:5",
            "card_update",
            "zhangsan",
            {"response_code_from": "approval-card:5", "button": {"replace_name": "已同意"}},
        ),
    )
    fake.fail("message/send", 45009, 45009)  # the card itself has to retry
    first = delivery.deliver_batches(live)
    assert (first.retrying, first.waiting) == (1, 1)
    assert deliver_later(live).sent == 2
    card_row, update_row = rows(live)
    assert update_row.status == "sent"
    body = fake.calls_to("message/update_template_card")[0].body
    assert body == {
        "button": {"replace_name": "已同意"},
        "response_code": card_row.response_code,
        "userids": ["zhangsan"],
        "agentid": live.settings.wecom_agent_id,
    }


def test_stuck_sending_row_is_recovered_and_a_stale_worker_cannot_overwrite(
    live: Runtime, fake: FakeWeCom
) -> None:
    queue(live, *texts(1))
    [stale] = delivery.claim_due(live)
    assert rows(live)[0].status == "sending"
    assert delivery.deliver_due(live) == 0  # leased: nobody else takes it
    report = deliver_later(live, delivery.LEASE + timedelta(seconds=1))
    assert report.sent == 1 and rows(live)[0].attempts == 2
    # The first worker wakes up late and tries to record a failure: fenced out.
    late = delivery.DeliveryReport()
    delivery._finish(live, stale, late, "dead", status="dead", last_error="late")
    assert late.lost == 1 and rows(live)[0].status == "sent"


def test_concurrent_workers_deliver_each_row_once(live: Runtime, fake: FakeWeCom) -> None:
    queue(live, *[(f"u{i}", "app_message", f"user{i}", cards.app_text(f"{i}")) for i in range(30)])
    assert live.extensions["orderdesk.wecom.client"].access_token
    fake.delay = 0.01
    reports: list[delivery.DeliveryReport] = []

    def worker() -> None:
        reports.append(delivery.deliver_batches(live, limit=5))

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.sent for r in reports) == 30
    claimed = sorted(i for r in reports for i in r.ids)
    assert claimed == [r.id for r in rows(live)]
    assert len(fake.calls_to("message/send")) == 30


def _worker_env(rt: Runtime) -> dict[str, str]:
    s = rt.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECOM_", "DATABASE_"))}
    env.update(
        DATABASE_URL=s.database_url,
        REDIS_URL=s.redis_url,
        REDIS_NAMESPACE=s.redis_namespace,
        WECOM_MODE="live",
        WECOM_API_BASE=s.wecom_api_base,
        WECOM_CORP_ID=s.wecom_corp_id,
        WECOM_AGENT_ID=str(s.wecom_agent_id),
        WECOM_SECRET=s.wecom_secret,
        WECOM_TOKEN=s.wecom_token,
        WECOM_AES_KEY=s.wecom_aes_key,
        SECRET_KEY=s.secret_key,
        JOBS_SYNC="true",
    )
    return env


def test_worker_killed_mid_delivery_message_delivered_once(live: Runtime, fake: FakeWeCom) -> None:
    [msg_id] = queue(live, *texts(1))
    arrived = fake.hold("message/send")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.procs"],
        cwd=ROOT,
        env=_worker_env(live),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert arrived.wait(60), "worker never reached WeCom"
        os.kill(proc.pid, signal.SIGKILL)  # mid-request: WeCom got it, we never heard back
        proc.wait(10)
    finally:
        fake.release()
        if proc.stderr is not None:
            proc.stderr.close()  # else an unclosed-file ResourceWarning (warnings are errors)
    [row] = rows(live)
    assert row.id == msg_id and row.status == "sending" and row.attempts == 1

    delivery.deliver_due(live)  # another worker, within the lease: leaves it alone
    assert rows(live)[0].status == "sending"
    # The sweeper recovers it after the lease; the re-send is a duplicate WeCom drops.
    assert deliver_later(live, delivery.LEASE + timedelta(seconds=1)).sent == 1
    [row] = rows(live)
    assert row.status == "sent" and row.attempts == 2
    assert len(fake.calls_to("message/send")) == 2
    assert len(fake.delivered) == 1


def test_sweep_job_recovers_and_delivers(live: Runtime, fake: FakeWeCom) -> None:
    from orderdesk.jobs.outbox import sweep

    queue(live, *texts(2))
    delivery.claim_due(live)  # a worker claimed them and died
    with clock.frozen(clock.now() + delivery.LEASE + timedelta(seconds=1)):
        assert sweep() == 2
        if live.queue.inline:  # JOBS_SYNC: the enqueued delivery ran inline
            assert [r.status for r in rows(live)] == ["sent", "sent"]
        else:
            delivery.deliver_due(live)
    assert len(fake.delivered) == 2


def test_retry_requeues_a_dead_message(live: Runtime, fake: FakeWeCom) -> None:
    [msg_id] = queue(live, ("d", "app_message", "zhangsan", cards.app_text("重试我")))
    fake.fail("message/send", 81013)
    delivery.deliver_due(live)
    assert rows(live)[0].status == "dead"
    with pytest.raises(LookupError):
        delivery.retry(live, msg_id + 100)
    assert delivery.retry(live, msg_id).status == "pending"
    delivery.deliver_due(live)
    [row] = rows(live)
    assert row.status == "sent" and row.attempts == 1 and row.last_error is None
    with pytest.raises(ValueError):
        delivery.retry(live, msg_id)  # only dead messages


def test_a_row_taken_over_during_a_long_batch_is_not_sent_twice(
    live: Runtime, fake: FakeWeCom
) -> None:
    queue(live, *texts(2))
    start = clock.now()
    with clock.frozen(start) as advance:
        claims = delivery.claim_due(live)
        advance(timedelta(seconds=100))
        assert delivery.renew_lease(live, claims[0])  # the first row is being sent...
        advance(timedelta(seconds=21))  # ...slowly: the second row's lease runs out
        delivery.recover_stuck(live)
        [second] = delivery.claim_due(live)  # and another worker claims it
        assert second.id == claims[1].id
        assert not delivery.renew_lease(live, claims[1])  # our batch skips it
        assert delivery.renew_lease(live, second)


def test_bot_response_url_older_than_an_hour_is_dead_not_posted(
    live: Runtime, fake: FakeWeCom
) -> None:
    url = fake.response_url("group")
    queue(live, ("late", "bot_response", url, cards.app_markdown("太晚了")))
    fake.down = True
    delivery.deliver_due(live)  # fails while WeCom is down: retried later...
    tried = len(fake.calls_to("aibot/response"))
    fake.down = False
    deliver_later(live, timedelta(hours=1, minutes=1))  # ...but by then the URL has expired
    [row] = rows(live)
    assert row.status == "dead" and "过期" in (row.last_error or "")
    assert len(fake.calls_to("aibot/response")) == tried


def test_card_update_with_a_response_code_older_than_72h_is_spent_not_retried(
    live: Runtime, fake: FakeWeCom
) -> None:
    # D:94888: a response_code works once within 72 h; past that it is dead at once.
    card = cards.button_interaction(task_id="appr-6", title="审批", buttons=[("同意", "approve:6")])
    queue(live, ("approval-card:6", "app_message", "zhangsan", cards.app_template_card(card)))
    assert delivery.deliver_batches(live).sent == 1
    with clock.frozen(clock.now() + timedelta(hours=72, minutes=1)):
        update = {"response_code_from": "approval-card:6", "button": {"replace_name": "已同意"}}
        queue(live, ("approval-card-update:6", "card_update", "zhangsan", update))
        report = delivery.deliver_batches(live)
    assert (report.dead, report.retrying) == (1, 0)
    row = rows(live)[-1]
    assert row.status == "dead" and "72" in (row.last_error or "")
    assert fake.calls_to("message/update_template_card") == []


def _group(chatid: str) -> tuple[tuple[str, str, str, dict[str, Any]], ...]:
    create = {"name": "项目群", "owner": "zhangsan", "userlist": ["zhangsan", "lisi"]}
    welcome = {"chatid": chatid, **cards.app_text("欢迎"), outbox.AFTER: f"create:{chatid}"}
    return (
        (f"create:{chatid}", "appchat_create", chatid, create),
        (f"welcome:{chatid}", "appchat", chatid, welcome),
    )


def test_appchat_create_retried_after_a_lost_answer_is_success(
    live: Runtime, fake: FakeWeCom
) -> None:
    # The first attempt reached WeCom but its answer was lost: the retry gets 86215.
    client = get_client(live)
    client.appchat_create(
        name="项目群", owner="zhangsan", userlist=["zhangsan", "lisi"], chatid="p77"
    )
    queue(live, *_group("p77"))
    report = delivery.deliver_batches(live)
    assert report.sent == 2, [r.last_error for r in rows(live)]
    assert [r.status for r in rows(live)] == ["sent", "sent"]
    assert len(fake.calls_to("appchat/send")) == 1


def test_group_welcome_waits_for_the_group_to_exist(live: Runtime, fake: FakeWeCom) -> None:
    queue(live, *_group("p78"))
    fake.fail("appchat/create", 45009, 45009)
    first = delivery.deliver_batches(live)
    assert (first.retrying, first.waiting) == (1, 1)
    assert fake.calls_to("appchat/send") == []  # never spoken to before it exists
    assert deliver_later(live).sent == 2
    body = fake.calls_to("appchat/send")[0].body or {}
    assert outbox.AFTER not in body and body["chatid"] == "p78"
