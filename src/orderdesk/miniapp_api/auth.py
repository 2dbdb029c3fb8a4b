"""Login: a WeCom code -> userid -> active Staff -> our own revocable session token.

The two WeCom exchanges go through the shared outbound client (wecom/client.py).
`session_key` is kept server-side in the ApiSession row only.

Sandbox mode leaves the machine for nothing: a login code is read as a userid of the sandbox
directory (our Staff table). Such a login trusts the caller's word, like the dev login, so it
answers only to loopback clients unless DEV_LOGIN=1.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from orderdesk.directory.sessions import trusts_caller_word
from orderdesk.miniapp_api.errors import ApiError
from orderdesk.runtime import Runtime
from orderdesk.wecom.client import get_client
from orderdesk.wecom.errors import WeComError

log = logging.getLogger(__name__)

__all__ = ["WeComIdentity", "identify", "trusts_caller_word"]

# 40029 invalid code; 40163 code already used; 42003 code expired (OAuth).
INVALID_CODE_ERRCODES = frozenset({40029, 40163, 42003})


@dataclass(frozen=True)
class WeComIdentity:
    userid: str
    session_key: str | None = None
    corpid: str | None = None


def sandbox_identity(rt: Runtime, code: str, ip: str | None) -> WeComIdentity:
    if not trusts_caller_word(rt.settings, ip):
        raise ApiError(
            403, "沙箱模式只接受本机登录(设置 DEV_LOGIN=1 可放开)", code="sandbox_login_refused"
        )
    return WeComIdentity(userid=code.strip(), corpid=rt.settings.wecom_corp_id)


def exchange_code(rt: Runtime, channel: str, code: str) -> WeComIdentity:
    """jscode2session (mini program) or auth/getuserinfo (H5 OAuth) -> the caller's identity,
    through the shared WeCom client (Redis-cached access token, retries on busy/token errors)."""
    client = get_client(rt)
    if channel == "miniprogram":
        data = client.jscode2session(code)
        return WeComIdentity(
            userid=str(data.get("userid") or ""),
            session_key=data.get("session_key"),
            corpid=data.get("corpid"),
        )
    return WeComIdentity(userid=client.getuserinfo(code) or "")


def identify(rt: Runtime, channel: str, code: str, *, ip: str | None) -> WeComIdentity:
    """The identity behind `code`, or an ApiError the client can act on."""
    if rt.settings.sandbox:
        return sandbox_identity(rt, code, ip)
    try:
        identity = exchange_code(rt, channel, code)
    except WeComError as exc:
        if exc.code in INVALID_CODE_ERRCODES:
            raise ApiError(
                401, "登录凭证无效或已过期,请重新进入小程序", code="invalid_code"
            ) from exc
        log.warning("wecom login exchange failed: %s", exc)
        raise ApiError(502) from exc
    if not identity.userid:
        raise ApiError(403, "仅限本企业成员使用", code="not_a_member")
    if identity.corpid and identity.corpid != rt.settings.wecom_corp_id:
        raise ApiError(403, "仅限本企业成员使用", code="not_a_member")
    return identity
