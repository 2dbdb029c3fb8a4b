"""Login flows, tokens, expiry, revocation, rate limiting, error shape, CORS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import responses
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from orderdesk.app import create_app
from orderdesk.core import clock
from orderdesk.miniapp_api import tokens
from orderdesk.models import ApiSession
from orderdesk.runtime import Runtime
from orderdesk.settings import Settings
from tests.api_support import ApiClient, add_staff

BASE = "http://wecom.test/cgi-bin"


@pytest.fixture
def api(app: Flask, client: FlaskClient) -> ApiClient:
    return ApiClient(app, client)


@pytest.fixture
def alice(session: Session) -> None:
    add_staff(session, "alice", "sales", name="王丽")
    add_staff(session, "gone", "sales", active=False)
    session.commit()


def live_settings(rt: Runtime) -> Settings:
    return rt.settings.with_overrides(
        wecom_mode="live",
        wecom_secret="s3cret",
        wecom_token="live-token",
        wecom_aes_key="A" * 43,
        secret_key="a-long-random-live-secret",
    )


@pytest.fixture
def live_api(rt: Runtime) -> ApiClient:
    """The API of a live deployment (logins exchange their code with the mocked WeCom API)."""
    live_rt = Runtime(settings=live_settings(rt), db=rt.db, redis=rt.redis, queue=rt.queue)
    live_app = create_app(rt=live_rt)
    return ApiClient(live_app, live_app.test_client())


def mock_token() -> None:
    responses.get(f"{BASE}/gettoken", json={"errcode": 0, "access_token": "AT", "expires_in": 7200})


@responses.activate
def test_miniprogram_login_issues_a_token_and_keeps_session_key_server_side(
    live_api: ApiClient, alice: None, rt: Runtime
) -> None:
    mock_token()
    responses.get(
        f"{BASE}/miniprogram/jscode2session",
        json={
            "errcode": 0,
            "corpid": rt.settings.wecom_corp_id,
            "userid": "alice",
            "session_key": "SECRET-SK",
        },
    )
    res = live_api.post(
        "/auth/miniprogram",
        json={"code": "js-code-1"},
        token=False,
        headers={"User-Agent": "wxwork-miniprogram"},
    )
    assert res.status_code == 200
    body = res.get_json()
    assert body["user"]["userid"] == "alice" and body["user"]["name"] == "王丽"
    assert "SECRET-SK" not in res.get_data(as_text=True)
    url = next(
        c.request.url or "" for c in responses.calls if "jscode2session" in str(c.request.url)
    )
    assert "js_code=js-code-1" in url and "access_token=AT" in url
    # The expiry is 7 days out, shown with the company offset (+08:00).
    assert body["expires_at"].endswith("+08:00")
    with rt.db.transaction() as s:
        row = s.scalar(select(ApiSession))
        assert row is not None and row.session_key == "SECRET-SK" and row.channel == "miniprogram"
        assert row.user_agent == "wxwork-miniprogram" and row.ip == "127.0.0.1"
        assert row.expires_at - row.created_at == timedelta(days=7)
    me = live_api.as_(body["token"]).get("/me")
    assert me.status_code == 200 and me.get_json()["userid"] == "alice"


@responses.activate
def test_miniprogram_invalid_code_40029_is_401_and_opens_no_session(
    live_api: ApiClient, alice: None, rt: Runtime
) -> None:
    mock_token()
    responses.get(
        f"{BASE}/miniprogram/jscode2session", json={"errcode": 40029, "errmsg": "invalid code"}
    )
    res = live_api.post("/auth/miniprogram", json={"code": "stale"}, token=False)
    assert res.status_code == 401
    assert res.get_json()["error"]["code"] == "invalid_code"
    assert "重新" in res.get_json()["error"]["message"]
    with rt.db.transaction() as s:
        assert s.scalar(select(ApiSession)) is None


@responses.activate
@pytest.mark.parametrize("userid", ["stranger", "gone"])
def test_unknown_or_inactive_user_is_403_not_enabled(
    live_api: ApiClient, alice: None, rt: Runtime, userid: str
) -> None:
    mock_token()
    responses.get(
        f"{BASE}/miniprogram/jscode2session",
        json={
            "errcode": 0,
            "corpid": rt.settings.wecom_corp_id,
            "userid": userid,
            "session_key": "x",
        },
    )
    res = live_api.post("/auth/miniprogram", json={"code": "c"}, token=False)
    assert res.status_code == 403
    assert res.get_json()["error"] == {
        "code": "not_enabled",
        "message": "您还没有开通 OrderDesk,请联系管理员",
        "fields": {},
    }


@responses.activate
def test_other_corp_and_upstream_failure(live_api: ApiClient, alice: None) -> None:
    mock_token()
    responses.get(
        f"{BASE}/miniprogram/jscode2session",
        json={"errcode": 0, "corpid": "wwOTHER", "userid": "alice", "session_key": "x"},
    )
    assert live_api.post("/auth/miniprogram", json={"code": "c"}, token=False).status_code == 403
    responses.replace(
        responses.GET,
        f"{BASE}/miniprogram/jscode2session",
        json={"errcode": 60020, "errmsg": "not allow to access from your ip"},
    )
    res = live_api.post("/auth/miniprogram", json={"code": "c"}, token=False)
    assert res.status_code == 502 and res.get_json()["error"]["code"] == "upstream_error"


@responses.activate
def test_oauth_login_via_getuserinfo(live_api: ApiClient, alice: None) -> None:
    mock_token()
    responses.get(f"{BASE}/auth/getuserinfo", json={"errcode": 0, "userid": "alice"})
    res = live_api.post("/auth/oauth", json={"code": "oauth-code"}, token=False)
    assert res.status_code == 200 and res.get_json()["user"]["userid"] == "alice"
    assert any("code=oauth-code" in str(c.request.url) for c in responses.calls)
    # A non-member gets only an openid from WeCom.
    responses.replace(responses.GET, f"{BASE}/auth/getuserinfo", json={"errcode": 0, "openid": "o"})
    assert live_api.post("/auth/oauth", json={"code": "x"}, token=False).status_code == 403


def test_dev_login_is_404_in_live_mode(live_api: ApiClient, alice: None) -> None:
    res = live_api.post("/auth/dev", json={"userid": "alice"}, token=False)
    assert res.status_code == 404 and res.get_json()["error"]["code"] == "not_found"


def test_missing_forged_and_wrong_scheme_tokens_are_401(api: ApiClient, alice: None) -> None:
    assert api.get("/me", token=False).status_code == 401
    token = api.login("alice")
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert api.get("/me", token=forged).status_code == 401
    other_key = tokens.issue("another-secret", sid="x", expires_at=clock.now() + timedelta(days=1))
    assert api.get("/me", token=other_key).status_code == 401
    res = api.get("/me", token=False, headers={"Authorization": f"Basic {token}"})
    assert res.status_code == 401
    assert res.get_json()["error"]["message"] == "请先登录"


def test_token_expires_after_seven_days(api: ApiClient, alice: None) -> None:
    with clock.frozen(datetime(2026, 3, 2, 1, 0, tzinfo=UTC)) as advance:
        token = api.login("alice")
        advance(timedelta(days=6, hours=23))
        assert api.get("/me", token=token).status_code == 200
        advance(timedelta(hours=1))
        res = api.get("/me", token=token)
        assert res.status_code == 401
        assert res.get_json()["error"]["code"] == "session_invalid"


def test_logout_revokes_only_that_session(api: ApiClient, alice: None, rt: Runtime) -> None:
    phone = api.login("alice")
    laptop = api.login("alice")
    assert api.post("/auth/logout", token=phone).status_code == 204
    assert api.get("/me", token=phone).status_code == 401
    assert api.post("/auth/logout", token=phone).status_code == 401
    assert api.get("/me", token=laptop).status_code == 200


def test_deactivated_staff_lose_their_sessions(api: ApiClient, alice: None, rt: Runtime) -> None:
    token = api.login("alice")
    with rt.db.transaction() as s:
        from orderdesk.models import Staff

        staff = s.scalar(select(Staff).where(Staff.userid == "alice"))
        assert staff is not None
        staff.active = False
    assert api.get("/me", token=token).status_code == 401


def test_login_attempts_are_rate_limited_per_ip(api: ApiClient, alice: None) -> None:
    # A frozen clock: on a loaded machine the 12 requests could straddle a minute boundary.
    with clock.frozen(datetime(2026, 6, 1, 2, 0, 30, tzinfo=UTC)):
        statuses = [
            api.post("/auth/dev", json={"userid": "nobody"}, token=False).status_code
            for _ in range(11)
        ]
        assert statuses[:10] == [403] * 10
        assert statuses[10] == 429
        res = api.post("/auth/dev", json={"userid": "alice"}, token=False)
    assert res.status_code == 429 and int(res.headers["Retry-After"]) == 30
    other_ip = api.call(
        "POST",
        "/auth/dev",
        json={"userid": "alice"},
        token=False,
        environ_base={"REMOTE_ADDR": "127.9.8.7"},
    )
    assert other_ip.status_code == 200


def test_login_body_validation_and_unknown_fields(api: ApiClient) -> None:
    res = api.post("/auth/dev", json={"userid": "", "extra": 1}, token=False)
    assert res.status_code == 422
    assert res.get_json()["error"]["fields"] == {"extra": "不支持的字段", "userid": "不能为空"}
    res = api.post("/auth/dev", json={}, token=False)
    assert res.get_json()["error"]["fields"] == {"userid": "必填"}
    res = api.post(
        "/auth/dev",
        data="userid=alice",
        token=False,
        content_type="application/x-www-form-urlencoded",
    )
    assert res.status_code == 415
    res = api.post("/auth/dev", data="{not json", token=False, content_type="application/json")
    assert res.status_code == 422


def test_json_bodies_over_one_megabyte_are_413(api: ApiClient) -> None:
    big = '{"userid": "' + "x" * (1024 * 1024) + '"}'
    res = api.post("/auth/dev", data=big, token=False, content_type="application/json")
    assert res.status_code == 413
    assert res.get_json()["error"]["code"] == "payload_too_large"


def test_unknown_api_path_and_method_use_the_error_shape(client: FlaskClient) -> None:
    res = client.get("/api/v1/nope")
    assert res.status_code == 404 and res.get_json()["error"]["code"] == "not_found"
    res = client.delete("/api/v1/me")
    assert res.status_code == 405 and "GET" in res.headers["Allow"]


def test_cors_closed_by_default_and_open_for_listed_origins(rt: Runtime, alice: None) -> None:
    closed = create_app(rt=rt).test_client()
    res = closed.options("/api/v1/me", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in res.headers
    listed = rt.settings.with_overrides(cors_origins="https://admin.example.com")
    open_app = create_app(rt=Runtime(settings=listed, db=rt.db, redis=rt.redis, queue=rt.queue))
    c = open_app.test_client()
    res = c.options(
        "/api/v1/me",
        headers={"Origin": "https://admin.example.com", "Access-Control-Request-Method": "GET"},
    )
    assert res.headers["Access-Control-Allow-Origin"] == "https://admin.example.com"
    assert "Authorization" in res.headers["Access-Control-Allow-Headers"]
    res = c.get("/api/v1/me", headers={"Origin": "https://other.example.com"})
    assert "Access-Control-Allow-Origin" not in res.headers


def test_control_characters_are_refused_before_any_query(api: ApiClient, alice: None) -> None:
    # PostgreSQL cannot store NUL in text; found by the schemathesis run.
    api.login("alice")
    res = api.get("/customers?q=%00x")
    assert res.status_code == 422 and res.get_json()["error"]["fields"] == {"q": "包含非法字符"}
    res = api.post("/auth/dev", json={"userid": "a\u0000b"}, token=False)
    assert res.status_code == 422 and res.get_json()["error"]["fields"] == {
        "userid": "包含非法字符"
    }
    assert api.get("/orders/SO%00").status_code == 404
    assert api.get("/customers/99999999999").status_code == 404


def test_unknown_query_parameters_are_refused_everywhere(api: ApiClient, alice: None) -> None:
    api.login("alice")
    res = api.get("/me?debug=1")
    assert res.status_code == 422 and res.get_json()["error"]["fields"] == {"debug": "不支持的参数"}


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_login_limit_shared_across_workers_and_survives_redis_outage(rt: Runtime) -> None:
    from redis import Redis

    from orderdesk.core.ratelimit import LoginLimiter

    ns = rt.settings.redis_namespace
    if rt.redis is not None:  # the PostgreSQL + Redis run: two workers share one count
        worker_a, worker_b = LoginLimiter(3, rt.redis, ns), LoginLimiter(3, rt.redis, ns)
        assert [worker_a.hit("203.0.113.5"), worker_b.hit("203.0.113.5")] == [None, None]
        assert worker_a.hit("203.0.113.5") is None
        assert worker_b.hit("203.0.113.5") is not None
    # Redis unreachable: counting continues in-process instead of failing the login.
    dead = Redis.from_url(f"redis://127.0.0.1:{_closed_port()}/0", socket_connect_timeout=0.2)
    limiter = LoginLimiter(2, dead, ns)
    assert [limiter.hit("203.0.113.6") for _ in range(2)] == [None, None]
    retry_after = limiter.hit("203.0.113.6")
    assert retry_after is not None and 0 < retry_after <= 60
