"""The WeCom API client against `responses` and the fake WeCom server."""

from __future__ import annotations

import json
import multiprocessing
import threading
from collections.abc import Iterator

import pytest
import requests
import responses

from orderdesk.runtime import Runtime
from orderdesk.wecom import tokens
from orderdesk.wecom.client import WeComClient, get_client
from orderdesk.wecom.errors import WeComError, WeComTransportError
from tests.fakes.procs import fetch_tokens
from tests.fakes.wecom_rules import strict
from tests.fakes.wecom_server import FakeWeCom
from tests.fakes.wire import Wire, make_wire

BASE = "http://wecom.test/cgi-bin"


@pytest.fixture(autouse=True)
def _fresh_token_cache() -> Iterator[None]:
    tokens.clear_local_cache()
    yield
    tokens.clear_local_cache()


@pytest.fixture(name="wire")
def _wire_fixture(redis_url: str) -> Iterator[Wire]:
    yield from make_wire(redis_url)


@pytest.fixture
def fake() -> Iterator[FakeWeCom]:
    server = FakeWeCom().start()
    yield server
    server.stop()


def _client(wire: Wire, base: str = BASE, **kwargs: object) -> tuple[WeComClient, list[float]]:
    slept: list[float] = []
    client = WeComClient(
        corp_id="wwtest",
        secret="s3cret",
        agent_id=1000002,
        api_base=base,
        redis=wire.redis,
        namespace=wire.settings.redis_namespace,
        sleep=slept.append,
        **kwargs,  # type: ignore[arg-type]
    )
    return client, slept


def _post(url: str, **kwargs: object) -> None:
    """`responses.post` that only answers a body WeCom would accept (tests/fakes/wecom_rules)."""
    responses.post(url, match=[strict()], **kwargs)


def _token(rsps: responses.RequestsMock, value: str) -> None:
    rsps.get(f"{BASE}/gettoken", json={"errcode": 0, "access_token": value, "expires_in": 7200})


@responses.activate
def test_token_refreshed_once_on_42001_then_retried(wire: Wire) -> None:
    client, _ = _client(wire)
    _token(responses.mock, "T1")
    _post(f"{BASE}/message/send", json={"errcode": 42001, "errmsg": "expired"})
    _token(responses.mock, "T2")
    _post(f"{BASE}/message/send", json={"errcode": 0, "msgid": "m1"})

    assert client.send_text("zhangsan", "你好")["msgid"] == "m1"

    urls = [str(c.request.url) for c in responses.calls]
    sends = [u for u in urls if "message/send" in u]
    assert [u.split("access_token=")[1] for u in sends] == ["T1", "T2"]
    body = json.loads(responses.calls[-1].request.body or b"")
    assert body["touser"] == "zhangsan" and body["agentid"] == 1000002
    assert body["enable_duplicate_check"] == 1
    # The refreshed token is cached: the next call fetches nothing.
    _post(f"{BASE}/message/send", json={"errcode": 0, "msgid": "m2"})
    client.send_text("zhangsan", "again")
    assert sum("gettoken" in str(c.request.url) for c in responses.calls) == 2


@responses.activate
def test_token_error_twice_is_raised_not_looped(wire: Wire) -> None:
    client, _ = _client(wire)
    _token(responses.mock, "T1")
    _post(f"{BASE}/message/send", json={"errcode": 40014, "errmsg": "invalid"})
    _token(responses.mock, "T2")
    _post(f"{BASE}/message/send", json={"errcode": 40014, "errmsg": "invalid"})
    with pytest.raises(WeComError) as err:
        client.send_text("zhangsan", "x")
    assert err.value.code == 40014
    assert len(responses.calls) == 4


@responses.activate
def test_backoff_with_jitter_on_45009(wire: Wire) -> None:
    client, slept = _client(wire, busy_retries=3, busy_backoff=0.5)
    _token(responses.mock, "T1")
    for _ in range(2):
        _post(f"{BASE}/message/send", json={"errcode": 45009, "errmsg": "limit"})
    _post(f"{BASE}/message/send", json={"errcode": 0, "msgid": "ok"})
    assert client.send_text("u1", "x")["msgid"] == "ok"
    assert len(slept) == 2
    assert 0.25 <= slept[0] <= 0.5 and 0.5 <= slept[1] <= 1.0


@responses.activate
def test_busy_errors_raise_after_bounded_retries(wire: Wire) -> None:
    client, slept = _client(wire, busy_retries=2)
    _token(responses.mock, "T1")
    for code in (45033, -1, 45009):
        _post(f"{BASE}/message/send", json={"errcode": code, "errmsg": "busy"})
    with pytest.raises(WeComError) as err:
        client.send_text("u1", "x")
    assert err.value.code == 45009 and err.value.busy and err.value.retryable
    assert len(slept) == 2


@responses.activate
def test_other_errors_are_typed_and_not_retried(wire: Wire) -> None:
    client, slept = _client(wire)
    _token(responses.mock, "T1")
    _post(f"{BASE}/message/send", json={"errcode": 81013, "errmsg": "all invalid"})
    with pytest.raises(WeComError) as err:
        client.send_text("nobody", "x")
    assert (err.value.code, err.value.msg) == (81013, "all invalid")
    assert not err.value.retryable
    assert slept == [] and len(responses.calls) == 2


@responses.activate
def test_bad_secret_on_gettoken_is_a_typed_error(wire: Wire) -> None:
    client, _ = _client(wire)
    responses.get(f"{BASE}/gettoken", json={"errcode": 40001, "errmsg": "invalid secret"})
    with pytest.raises(WeComError) as err:
        client.list_tags()
    assert err.value.code == 40001


def test_timeouts_on_every_call(wire: Wire, fake: FakeWeCom) -> None:
    client, _ = _client(wire, fake.base, timeout=(1.0, 0.3), busy_retries=0)
    fake.delay = 2.0  # below the default read timeout (10 s): only the 0.3 s one can fire
    with pytest.raises(WeComTransportError) as err:
        client.list_departments()  # the gettoken call itself times out
    assert isinstance(err.value.__cause__, requests.ReadTimeout)
    assert "read timeout=0.3" in str(err.value.__cause__)
    assert "timeout" in err.value.msg and "corpsecret" not in err.value.msg
    fake.delay = 0.0


def test_server_down_is_a_retryable_transport_error(wire: Wire, fake: FakeWeCom) -> None:
    client, _ = _client(wire, fake.base, busy_retries=0)
    fake.down = True
    with pytest.raises(WeComTransportError) as err:
        client.send_text("u1", "x")
    assert err.value.retryable and "503" in err.value.msg


def test_one_token_fetch_for_20_concurrent_callers(wire: Wire, fake: FakeWeCom) -> None:
    """With Redis: 4 processes x 5 threads share one fetch (Redis lock). Without Redis (SQLite
    run): 20 threads of one process share one fetch (in-process lock)."""
    fake.token_delay = 0.3  # widen the race window
    redis_url = wire.settings.redis_url
    if redis_url:
        ctx = multiprocessing.get_context("fork")
        barrier = ctx.Barrier(20)
        out = ctx.Queue()
        procs = [
            ctx.Process(
                target=fetch_tokens,
                args=(fake.base, redis_url, wire.settings.redis_namespace, barrier, out),
            )
            for _ in range(4)
        ]
        for p in procs:
            p.start()
        got = [out.get(timeout=60) for _ in range(20)]
        for p in procs:
            p.join(timeout=30)
            assert p.exitcode == 0
    else:
        client, _ = _client(wire, fake.base)
        tbarrier = threading.Barrier(20)
        got = []

        def one() -> None:
            tbarrier.wait(timeout=10)
            got.append(client.access_token)

        threads = [threading.Thread(target=one) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(got) == 20 and len(set(got)) == 1
    assert fake.token_fetches == 1


def test_token_is_shared_and_cached_until_expires_in_minus_300(wire: Wire, fake: FakeWeCom) -> None:
    a, _ = _client(wire, fake.base)
    b, _ = _client(wire, fake.base)
    assert a.access_token == b.access_token
    assert fake.token_fetches == 1
    if wire.redis is not None:
        ttl = wire.redis.ttl(a.tokens.key)
        assert 6890 <= ttl <= 6900


def test_expired_token_across_clients_refreshes_once(wire: Wire, fake: FakeWeCom) -> None:
    a, _ = _client(wire, fake.base)
    b, _ = _client(wire, fake.base)
    a.send_text("u1", "one")
    fake.expire_tokens()
    a.send_text("u1", "two")
    b.send_text("u1", "three")  # sees the token `a` refreshed; no second fetch
    assert fake.token_fetches == 2
    assert len(fake.delivered) == 3


def test_senders_and_directory_against_fake_server(wire: Wire, fake: FakeWeCom) -> None:
    client, _ = _client(wire, fake.base)
    card = {
        "card_type": "button_interaction",
        "task_id": "appr-1",
        "main_title": {"title": "x"},
        "button_list": [{"text": "同意", "key": "approve:1", "style": 1}],
    }
    sent = client.send_template_card("zhangsan|lisi", card)
    assert sent["response_code"].startswith("rc-")
    client.update_template_card(
        userids=["zhangsan"], response_code=sent["response_code"], replace_name="已同意"
    )
    assert client.appchat_create(name="项目群", owner="zhangsan", userlist=["a", "b"]) == "chat1"
    client.appchat_send("chat1", {"msgtype": "text", "text": {"content": "hi"}})
    client.webhook_send("robot-key", {"msgtype": "markdown", "markdown": {"content": "**hi**"}})
    client.add_msg_template({"sender": "zhangsan", "text": {"content": "您好"}})
    assert client.jscode2session("good-code")["userid"] == "zhangsan"
    assert client.getuserinfo("good-code") == "zhangsan"
    with pytest.raises(WeComError) as err:
        client.getuserinfo("stale")
    assert err.value.code == 40029
    assert client.list_departments()[0]["name"] == "公司"
    assert client.list_users(1)[0]["userid"] == "zhangsan"
    assert client.list_tags() == [{"tagid": 1, "tagname": "finance"}]
    members = client.tag_members(1)
    assert members.userids == ["zhangsan"] and members.department_ids == [2]

    update = fake.calls_to("message/update_template_card")[0].body
    assert update == {
        "userids": ["zhangsan"],
        "agentid": 1000002,
        "response_code": sent["response_code"],
        "button": {"replace_name": "已同意"},
    }
    hook = fake.calls_to("webhook/send")[0]
    assert hook.query == {"key": "robot-key"}  # key only, no access token
    assert (fake.calls_to("message/send")[0].body or {})["msgtype"] == "template_card"


def test_webhook_url_is_derived_from_api_base(wire: Wire) -> None:
    client, _ = _client(wire, "https://qyapi.weixin.qq.com/cgi-bin")
    assert client.webhook_url("k/1") == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k%2F1"
    assert client.webhook_url("https://x.test/hook?key=1") == "https://x.test/hook?key=1"


@responses.activate
def test_bot_response_url_posts_without_token(wire: Wire) -> None:
    client, _ = _client(wire)
    url = "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=abc"
    _post(url, json={"errcode": 0, "errmsg": "ok"})
    client.bot_respond(url, {"msgtype": "markdown", "markdown": {"content": "处理完成"}})
    assert len(responses.calls) == 1
    assert "access_token" not in str(responses.calls[0].request.url)


def test_get_client_uses_runtime_settings(rt: Runtime) -> None:
    client = get_client(rt)
    assert client is get_client(rt)
    assert client.api_base == "http://wecom.test/cgi-bin/"
    assert client.agent_id == rt.settings.wecom_agent_id
