"""`orderdesk outbox [--status] [--tail]`, `outbox retry ID` and `outbox deliver`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner, Result

from orderdesk import runtime
from orderdesk.cli import main
from orderdesk.runtime import Runtime
from orderdesk.wecom import cards, delivery
from tests.e2e.test_outbox import _worker_env, queue, rows, texts
from tests.fakes.live import fake_wecom, go_live
from tests.fakes.wecom_server import FakeWeCom


@pytest.fixture
def fake() -> Iterator[FakeWeCom]:
    with fake_wecom() as server:
        yield server


@pytest.fixture
def live(rt: Runtime, fake: FakeWeCom) -> Iterator[Runtime]:
    with go_live(rt, fake, busy_backoff=0.01, outbox_max_attempts=2) as live_rt:
        yield live_rt
        runtime.install(rt)  # the CLI installed (and closed) its own runtime


def run(rt: Runtime, *args: str) -> Result:
    result = CliRunner().invoke(main, list(args), env=_worker_env(rt))
    runtime.install(rt)
    return result


def test_outbox_lists_filters_and_tails(live: Runtime, fake: FakeWeCom) -> None:
    queue(live, *texts(3), ("bad", "app_message", "nobody", cards.app_text("坏消息")))
    fake.fail("message/send", 81013)
    delivery.deliver_due(live)

    listing = run(live, "outbox")
    assert listing.exit_code == 0, listing.output
    assert "pending 0  sending 0  sent 3  dead 1" in listing.output
    dead = run(live, "outbox", "--status", "dead")
    lines = [ln for ln in dead.output.splitlines() if not ln.startswith("--")]
    assert len(lines) == 1 and "81013" in lines[0] and "m-0" in lines[0]
    tail = run(live, "outbox", "--tail", "2")
    assert len([ln for ln in tail.output.splitlines() if not ln.startswith("--")]) == 2
    assert run(live, "outbox", "--status", "lost").exit_code == 2


def test_outbox_retry_requeues_a_dead_message(live: Runtime, fake: FakeWeCom) -> None:
    [msg_id] = queue(live, ("d", "app_message", "zhangsan", cards.app_text("重试")))
    fake.fail("message/send", *([45009] * 6))  # 2 deliveries x (1 try + 2 busy retries)
    delivery.deliver_due(live)
    assert rows(live)[0].status == "pending"
    with delivery.clock.frozen(delivery.clock.now() + delivery.LEASE * 100):
        delivery.deliver_due(live)
    assert rows(live)[0].status == "dead"

    result = run(live, "outbox", "retry", str(msg_id))
    assert result.exit_code == 0, result.output
    assert "已重新排队" in result.output
    assert rows(live)[0].status in ("pending", "sent")  # sent if the commit hook ran inline
    assert "attempted" in run(live, "outbox", "deliver").output
    [row] = rows(live)
    assert row.status == "sent" and len(fake.delivered) == 1

    again = run(live, "outbox", "retry", str(msg_id))
    assert again.exit_code == 1 and "只有 dead" in again.output
    missing = run(live, "outbox", "retry", "999999")
    assert missing.exit_code == 1 and "没有编号" in missing.output


def test_a_webhook_recipient_is_listed_masked(live: Runtime) -> None:
    key = "3f2a9c1e-7b4d-4e8f-9a6b-1c2d3e4f5a6b"  # a robot's key is its credential
    queue(live, ("hook-1", "webhook", key, cards.webhook_text("通知")))
    listing = run(live, "outbox")
    assert listing.exit_code == 0, listing.output
    assert "****5a6b" in listing.output and key not in listing.output
