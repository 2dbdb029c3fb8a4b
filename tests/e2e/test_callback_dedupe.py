"""Dedupe store behaviour, including Redis going away at callback time."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from orderdesk.app import create_app
from orderdesk.bot.router import Context, Router
from orderdesk.models import InboundEvent, OutboxMessage
from orderdesk.runtime import Runtime, build_runtime, install
from orderdesk.wecom import dedupe, signing
from orderdesk.wecom.replies import Reply, TextReply
from tests import callback_world
from tests.callback_world import World
from tests.fakes.wecom_rules import check_passive

# The scenario fixtures (module-scoped runtime, per-test world).
edge_rt = callback_world.edge_rt
world = callback_world.world


def test_claim_states(world: World) -> None:
    rt = world.rt
    first = dedupe.claim(rt, "app:msg:1", "app")
    assert first.state == "new"
    assert dedupe.claim(rt, "app:msg:1", "app").state == "busy"
    dedupe.complete(rt, first, "<xml>reply</xml>")
    again = dedupe.claim(rt, "app:msg:1", "app")
    assert (again.state, again.reply) == ("done", "<xml>reply</xml>")
    assert first.store == ("redis" if rt.redis is not None else "db")


def test_release_lets_a_retry_run_again(world: World) -> None:
    rt = world.rt
    c = dedupe.claim(rt, "bot:msg:2", "bot")
    dedupe.release(rt, c)
    assert dedupe.claim(rt, "bot:msg:2", "bot").state == "new"


def test_empty_reply_is_remembered_as_done(world: World) -> None:
    rt = world.rt
    c = dedupe.claim(rt, "app:card:x", "app")
    dedupe.complete(rt, c, "")
    assert dedupe.claim(rt, "app:card:x", "app").state == "done"


def test_long_keys_are_shortened_without_collisions(world: World) -> None:
    rt = world.rt
    a = "app:card:u:1:" + "k" * 1000 + ":a"
    b = "app:card:u:1:" + "k" * 1000 + ":b"
    assert dedupe.claim(rt, a, "app").state == "new"
    assert dedupe.claim(rt, b, "app").state == "new"
    assert len(dedupe.normalize_key(a)) <= 300


def test_redis_keys_live_48_hours_in_the_namespace(world: World) -> None:
    rt = world.rt
    if rt.redis is None:  # the SQLite run has no Redis: the table is the store
        assert dedupe.claim(rt, "app:msg:3", "app").store == "db"
        return
    dedupe.claim(rt, "app:msg:3", "app")
    key = f"{rt.settings.redis_namespace}:inbound:app:msg:3"
    ttl = rt.redis.ttl(key)
    assert 47 * 3600 < ttl <= 48 * 3600
    with rt.db.transaction() as s:
        assert s.scalar(select(InboundEvent)) is None  # Redis, not the table


def test_failed_dispatch_answers_500_and_can_be_retried(world: World) -> None:
    calls = []

    def broken(event: object, rt: Runtime) -> Reply | None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        return TextReply("ok")

    class Broken(Router):
        def dispatch(self, event, rt):
            return broken(event, rt)

    world.app.extensions["orderdesk.router"] = Broken()
    plaintext = signing.app_text_xml(world.settings, "zhangsan", "x", msg_id="500500")
    resp = world.client.post(
        (r := signing.seal(world.settings, "app", plaintext)).url,
        data=r.body,
        content_type=r.content_type,
    )
    assert resp.status_code == 500
    status, reply = world.post(signing.seal(world.settings, "app", plaintext))
    assert status == 200 and reply is not None and "ok" in reply
    assert len(calls) == 2


# -- Redis down at callback time -----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = _free_port()
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.02)
    yield proc, port
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=5)


def test_redis_down_at_callback_time_is_still_answered(
    world: World,  # empty inbound/outbox tables and the staff; we build our own runtime on them
    private_redis: tuple[subprocess.Popen[bytes], int],
) -> None:
    proc, port = private_redis
    own = build_runtime(
        world.settings.with_overrides(redis_url=f"redis://127.0.0.1:{port}/0", jobs_sync=False)
    )
    try:
        app: Flask = create_app(rt=own)
        router = Router()
        app.extensions["orderdesk.router"] = router
        effects: list[str] = []

        @router.command("回声")
        def echo(ctx: Context) -> Reply | None:
            effects.append(ctx.args)
            return TextReply(f"回声:{ctx.args}")

        @router.command("卡")
        def card(ctx: Context) -> Reply | None:
            from orderdesk.wecom.replies import CardReply

            effects.append("card")
            return CardReply({"card_type": "text_notice", "main_title": {"title": "t"}})

        client = app.test_client()
        assert own.redis is not None and own.redis.ping()

        proc.kill()  # Redis goes away
        proc.wait(timeout=5)

        plaintext = signing.app_text_xml(own.settings, "zhangsan", "回声 在吗", msg_id="424242")
        replies = []
        for _ in range(2):
            req = signing.seal(own.settings, "app", plaintext)
            resp = client.post(req.url, data=req.body, content_type=req.content_type)
            assert resp.status_code == 200
            replies.append(check_passive(own.settings, req, resp.get_data(as_text=True)))
        assert effects == ["在吗"]
        assert replies[0] == replies[1] and "回声:在吗" in (replies[0] or "")
        with own.db.transaction() as s:
            row = s.scalar(select(InboundEvent).where(InboundEvent.dedupe_key == "app:msg:424242"))
            assert row is not None and row.reply == replies[0]

        # A reply that must go out as a message is kept in the outbox for the sweeper.
        req = signing.app_text(own.settings, "zhangsan", "卡")
        resp = client.post(req.url, data=req.body, content_type=req.content_type)
        assert resp.status_code == 200
        with own.db.transaction() as s:
            [msg] = s.scalars(select(OutboxMessage)).all()
            assert (msg.status, msg.channel, msg.recipient) == (
                "pending",
                "app_message",
                "zhangsan",
            )
    finally:
        own.close()
        install(world.rt)


def test_prune_removes_rows_past_48_hours(world: World) -> None:
    from datetime import UTC, datetime, timedelta

    from orderdesk.core import clock
    from orderdesk.jobs.outbox import prune_inbound

    start = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    with clock.frozen(start) as advance:
        with world.rt.db.transaction() as s:
            s.add(InboundEvent(dedupe_key="app:msg:old", channel="app", received_at=clock.now()))
        advance(timedelta(hours=47))
        with world.rt.db.transaction() as s:
            s.add(InboundEvent(dedupe_key="app:msg:new", channel="app", received_at=clock.now()))
        advance(timedelta(hours=2))
        assert prune_inbound() == 1  # the daily scheduled job over dedupe.prune
    with world.rt.db.transaction() as s:
        assert list(s.scalars(select(InboundEvent.dedupe_key))) == ["app:msg:new"]


def test_a_retry_just_after_a_redis_outage_gets_the_same_reply_and_no_second_effect(
    world: World, private_redis: tuple[subprocess.Popen[bytes], int], tmp_path: Path
) -> None:
    proc, port = private_redis
    own = build_runtime(
        world.settings.with_overrides(redis_url=f"redis://127.0.0.1:{port}/0", jobs_sync=False)
    )
    back: subprocess.Popen[bytes] | None = None
    try:
        app: Flask = create_app(rt=own)
        router = Router()
        app.extensions["orderdesk.router"] = router
        effects: list[str] = []

        @router.command("回声")
        def echo(ctx: Context) -> Reply | None:
            effects.append(ctx.args)
            return TextReply(f"回声:{ctx.args}")

        client = app.test_client()
        plaintext = signing.app_text_xml(own.settings, "zhangsan", "回声 还在", msg_id="434343")

        def post() -> str | None:
            req = signing.seal(own.settings, "app", plaintext)
            resp = client.post(req.url, data=req.body, content_type=req.content_type)
            assert resp.status_code == 200
            return signing.open_reply(own.settings, "app", resp.get_data(as_text=True))

        proc.kill()  # Redis goes away: the first delivery is deduplicated in the database
        proc.wait(timeout=5)
        first = post()
        back = subprocess.Popen(  # ...and comes back empty before WeCom's retry
            ["redis-server", "--port", str(port), "--save", "", "--dir", str(tmp_path)],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                assert own.redis is not None and own.redis.ping()
                break
            except Exception:
                time.sleep(0.05)
        assert post() == first and "回声:还在" in (first or "")
        assert effects == ["还在"]
    finally:
        own.close()
        install(world.rt)
        if back is not None:
            back.kill()
            back.wait(timeout=5)
