"""Modes and secrets (issue 10): sandbox only on purpose, who may use the logins that take the
caller's word, client addresses behind proxies, stale callbacks, dedupe pruning without Redis."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
import responses
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.app import create_app
from orderdesk.core import clock
from orderdesk.models import ApiSession, InboundEvent
from orderdesk.runtime import Runtime, build_runtime, install
from orderdesk.settings import SettingsError, load_settings
from orderdesk.wecom import signing
from tests import callback_world
from tests.api_support import ApiClient, add_staff
from tests.callback_world import World

edge_rt = callback_world.edge_rt
world = callback_world.world

LIVE_KEYS = {
    "WECOM_CORP_ID": "ww1234567890abcdef",
    "WECOM_TOKEN": "real-callback-token",
    "WECOM_AES_KEY": "B" * 43,
    "SECRET_KEY": "a-long-random-production-secret",
    "DATABASE_URL": "postgresql+psycopg://od:pw@db.internal/orderdesk",
}


# ------------------------------------------------------------------ sandbox only on purpose


@pytest.mark.parametrize("key", ["WECOM_CORP_ID", "WECOM_TOKEN", "WECOM_AES_KEY"])
def test_a_live_key_without_wecom_secret_stops_start_up_naming_it(key: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings({key: LIVE_KEYS[key]})
    message = str(err.value)
    assert message.startswith("WECOM_SECRET:") and key in message and "\n" not in message


def test_the_reported_deployment_no_longer_starts_in_sandbox() -> None:
    # Before: real corp id, token, AES key, SECRET_KEY and PostgreSQL, no secret -> sandbox.
    with pytest.raises(SettingsError, match=r"^WECOM_SECRET: required"):
        load_settings(LIVE_KEYS)


def test_sandbox_chosen_on_purpose_still_starts_and_live_needs_the_secret() -> None:
    assert load_settings({**LIVE_KEYS, "WECOM_MODE": "sandbox"}).sandbox
    assert load_settings({}).sandbox  # nothing set at all: the laptop default
    live = load_settings({**LIVE_KEYS, "WECOM_SECRET": "s3cret"})
    assert live.wecom_mode == "live"


def test_dev_login_setting_is_sandbox_only() -> None:
    with pytest.raises(SettingsError, match=r"^DEV_LOGIN:"):
        load_settings({**LIVE_KEYS, "WECOM_SECRET": "s3cret", "DEV_LOGIN": "1"})
    assert load_settings({"DEV_LOGIN": "1"}).dev_login


@pytest.mark.parametrize("raw", ["x", "10.0.0.0/33", "99", "10.0.0.1,nope"])
def test_trusted_proxies_bad_values_name_the_setting(raw: str) -> None:
    with pytest.raises(SettingsError, match=r"^TRUSTED_PROXIES:"):
        load_settings({"TRUSTED_PROXIES": raw})


def test_start_up_says_who_may_use_the_dev_login(
    rt: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="orderdesk.app"):
        create_app(rt=rt)
        _app_with(rt, dev_login=True)
    text = caplog.text
    assert "dev login open to loopback clients only" in text
    assert "dev login open to every client (DEV_LOGIN=1)" in text


# ------------------------------------------------------------------ logins that take your word


def _app_with(rt: Runtime, **overrides: object) -> Flask:
    settings = rt.settings.with_overrides(**overrides)
    return create_app(rt=Runtime(settings=settings, db=rt.db, redis=rt.redis, queue=rt.queue))


@pytest.fixture
def alice(session: Session) -> None:
    add_staff(session, "alice", "sales", name="王丽")
    session.commit()


def _post(app: Flask, path: str, body: dict[str, str], ip: str, **kw: object) -> tuple[int, dict]:
    api = ApiClient(app, app.test_client())
    res = api.post(path, json=body, token=False, environ_base={"REMOTE_ADDR": ip}, **kw)
    return res.status_code, res.get_json()


def test_dev_login_answers_only_loopback_unless_dev_login_is_set(
    app: Flask, rt: Runtime, alice: None
) -> None:
    assert _post(app, "/auth/dev", {"userid": "alice"}, "203.0.113.9")[0] == 404
    assert _post(app, "/auth/dev", {"userid": "alice"}, "127.0.0.1")[0] == 200
    assert _post(app, "/auth/dev", {"userid": "alice"}, "::1")[0] == 200
    opened = _app_with(rt, dev_login=True)
    assert _post(opened, "/auth/dev", {"userid": "alice"}, "203.0.113.9")[0] == 200


@responses.activate  # no URL registered: any call to WeCom would raise ConnectionError
@pytest.mark.parametrize("path", ["/auth/miniprogram", "/auth/oauth"])
def test_sandbox_code_logins_answer_from_the_sandbox_directory(
    app: Flask, rt: Runtime, alice: None, path: str
) -> None:
    status, body = _post(app, path, {"code": "alice"}, "127.0.0.1")
    assert status == 200 and body["user"]["userid"] == "alice"
    status, body = _post(app, path, {"code": "nobody"}, "127.0.0.1")
    assert status == 403 and body["error"]["code"] == "not_enabled"
    status, body = _post(app, path, {"code": "alice"}, "203.0.113.9")
    assert status == 403 and body["error"]["code"] == "sandbox_login_refused"
    assert len(responses.calls) == 0
    with rt.db.transaction() as s:
        assert len(list(s.scalars(select(ApiSession)))) == 1


# ------------------------------------------------------------------ behind a reverse proxy


# The login limit counts in fixed one-minute windows: the attempts of one test happen at one
# frozen instant, so a test that straddles a minute boundary cannot see its count reset.
LOGIN_INSTANT = datetime(2026, 11, 30, 2, 0, 5, tzinfo=UTC)


def _login_statuses(app: Flask, client_ip: str, n: int, proxy: str = "10.0.0.2") -> list[int]:
    api = ApiClient(app, app.test_client())
    with clock.frozen(LOGIN_INSTANT):
        return [
            api.post(
                "/auth/dev",
                json={"userid": "nobody"},
                token=False,
                headers={"X-Forwarded-For": client_ip},
                environ_base={"REMOTE_ADDR": proxy},
            ).status_code
            for _ in range(n)
        ]


@pytest.mark.parametrize("spec", ["1", "10.0.0.0/8"])
def test_login_limit_counts_each_client_behind_a_trusted_proxy(
    rt: Runtime, alice: None, spec: str
) -> None:
    app = _app_with(rt, trusted_proxies=spec, dev_login=True)
    assert _login_statuses(app, "198.51.100.1", 11)[-1] == 429
    # Another person behind the same proxy is not locked out by the first one's attempts.
    assert _login_statuses(app, "198.51.100.2", 1) == [403]


def test_without_trusted_proxies_everyone_behind_a_proxy_shares_its_address(
    rt: Runtime, alice: None
) -> None:
    app = _app_with(rt, dev_login=True)
    _login_statuses(app, "198.51.100.1", 11)
    assert _login_statuses(app, "198.51.100.2", 1) == [429]


def test_cidrs_ignore_a_forwarded_for_header_from_an_untrusted_peer(
    rt: Runtime, alice: None
) -> None:
    app = _app_with(rt, trusted_proxies="10.0.0.0/8")
    # A client on the internet claiming to be loopback does not get the dev login.
    assert _login_statuses(app, "127.0.0.1", 1, proxy="203.0.113.9") == [404]
    # Behind the local proxy, a remote client is still remote for the dev login.
    local_proxy = _app_with(rt, trusted_proxies="127.0.0.1/32")
    assert _login_statuses(local_proxy, "203.0.113.9", 1, proxy="127.0.0.1") == [404]


def test_the_session_records_the_client_address_not_the_proxy(rt: Runtime, alice: None) -> None:
    app = _app_with(rt, trusted_proxies="1")
    status, _ = _post(
        app,
        "/auth/dev",
        {"userid": "alice"},
        "127.0.0.1",
        headers={"X-Forwarded-For": "127.0.0.7"},
    )
    assert status == 200
    with rt.db.transaction() as s:
        assert s.scalar(select(ApiSession.ip)) == "127.0.0.7"


# ------------------------------------------------------------------ callbacks: replayed capture


@pytest.mark.parametrize("channel", ["app", "bot"])
def test_a_callback_signed_more_than_ten_minutes_ago_is_refused(world: World, channel: str) -> None:
    make = signing.app_text if channel == "app" else signing.bot_text
    with clock.frozen(clock.now() - timedelta(minutes=11)):
        captured = make(world.settings, "zhangsan", "回声 旧")
    assert world.post(captured)[0] == 403
    assert world.effects == [] and world.count(InboundEvent) == 0
    with clock.frozen(clock.now() + timedelta(minutes=11)):
        assert world.post(make(world.settings, "zhangsan", "回声 未来"))[0] == 200
    with clock.frozen(clock.now() - timedelta(minutes=9)):
        recent = make(world.settings, "zhangsan", "回声 新")
    assert world.post(recent)[0] == 200
    assert [e[0] for e in world.effects] == ["echo", "echo"]


def test_url_verification_with_a_stale_timestamp_is_refused(world: World) -> None:
    with clock.frozen(clock.now() - timedelta(hours=1)):
        url, _echo = signing.verification(world.settings, "app")
    assert world.client.get(url).status_code == 403
    url, echo = signing.verification(world.settings, "app")
    assert world.client.get(url).get_data(as_text=True) == echo


# ------------------------------------------------------------------ dedupe rows without Redis


def test_without_redis_the_scheduled_prune_job_empties_old_dedupe_rows(rt: Runtime) -> None:
    from orderdesk.jobs.scheduler import SchedulerNode

    own = build_runtime(rt.settings.with_overrides(redis_url=""))
    install(own)
    try:
        start = datetime(2026, 11, 1, 1, 0, tzinfo=UTC)
        with clock.frozen(start) as advance:
            with own.db.transaction() as s:
                s.add(InboundEvent(dedupe_key="app:msg:old", channel="app", received_at=start))
            advance(timedelta(days=3))
            node = SchedulerNode(own)
            assert node.heartbeat_once()  # alone without Redis: always the leader
            assert node.fire("inbound.prune", clock.now())
        with own.db.transaction() as s:
            assert s.scalar(select(InboundEvent.id)) is None
    finally:
        own.close()
        install(rt)
