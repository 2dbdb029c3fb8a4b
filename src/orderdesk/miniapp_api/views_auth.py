"""Login, logout and who am I."""

from __future__ import annotations

from typing import Any

from orderdesk.core.errors import NotFound
from orderdesk.directory import sessions
from orderdesk.directory.staff import NOT_ENABLED, get_active_staff
from orderdesk.miniapp_api import serialize, tokens
from orderdesk.miniapp_api.auth import identify, trusts_caller_word
from orderdesk.miniapp_api.errors import ApiError
from orderdesk.miniapp_api.registry import Ctx, Reply, endpoint
from orderdesk.miniapp_api.schemas import obj, r
from orderdesk.models import Staff
from orderdesk.orders.service import order_counts

CODE_BODY = obj({"code": {"type": "string", "minLength": 1, "maxLength": 256}})
LOGIN_ERRORS = (401, 403, 502)


def _order_counts(ctx: Ctx, actor: Staff) -> dict[str, int]:
    return {str(k): int(v) for k, v in order_counts(ctx.session, actor=actor).items()}


def _login(ctx: Ctx, *, userid: str, channel: str, session_key: str | None = None) -> Reply:
    try:
        staff = get_active_staff(ctx.session, userid)
    except NotFound:
        raise ApiError(403, NOT_ENABLED, code="not_enabled") from None
    row = sessions.open_session(
        ctx.session,
        staff=staff,
        channel=channel,
        session_key=session_key,
        ip=ctx.ip,
        user_agent=ctx.user_agent,
    )
    token = tokens.issue(ctx.rt.settings.secret_key, sid=row.sid, expires_at=row.expires_at)
    body: dict[str, Any] = {
        "token": token,
        "expires_at": serialize.when(row.expires_at, ctx.tz),
        "user": serialize.me(staff, _order_counts(ctx, staff)),
    }
    return body, 200


@endpoint(
    "POST",
    "/auth/miniprogram",
    tag="auth",
    summary="小程序登录(wx.qy.login 的 code 换取会话)",
    auth=False,
    login=True,
    body=CODE_BODY,
    responses={200: r("Session")},
    errors=LOGIN_ERRORS,
)
def login_miniprogram(ctx: Ctx) -> Reply:
    identity = identify(ctx.rt, "miniprogram", ctx.body["code"], ip=ctx.ip)
    return _login(
        ctx, userid=identity.userid, channel="miniprogram", session_key=identity.session_key
    )


@endpoint(
    "POST",
    "/auth/oauth",
    tag="auth",
    summary="H5 网页授权登录(auth/getuserinfo)",
    auth=False,
    login=True,
    body=CODE_BODY,
    responses={200: r("Session")},
    errors=LOGIN_ERRORS,
)
def login_oauth(ctx: Ctx) -> Reply:
    identity = identify(ctx.rt, "oauth", ctx.body["code"], ip=ctx.ip)
    return _login(ctx, userid=identity.userid, channel="oauth")


@endpoint(
    "POST",
    "/auth/dev",
    tag="auth",
    summary="开发登录(仅沙箱模式、仅本机,DEV_LOGIN=1 时不限来源;否则返回 404)",
    auth=False,
    login=True,
    body=obj({"userid": {"type": "string", "minLength": 1, "maxLength": 64}}),
    responses={200: r("Session")},
    errors=(403, 404),
)
def login_dev(ctx: Ctx) -> Reply:
    if not trusts_caller_word(ctx.rt.settings, ctx.ip):
        raise ApiError(404)
    return _login(ctx, userid=ctx.body["userid"], channel="dev")


@endpoint(
    "POST",
    "/auth/logout",
    tag="auth",
    summary="注销当前会话(令牌立即失效)",
    responses={204: None},
)
def logout(ctx: Ctx) -> Reply | None:
    assert ctx.api_session is not None
    sessions.revoke(ctx.session, ctx.api_session)
    return None


@endpoint("GET", "/me", tag="auth", summary="当前用户", responses={200: r("Me")})
def me(ctx: Ctx) -> Reply:
    return serialize.me(ctx.actor, _order_counts(ctx, ctx.actor))
