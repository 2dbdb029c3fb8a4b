"""Login: a WeCom code -> userid -> active Staff -> our own revocable session token.

The two WeCom exchanges go through `exchange_code` below, the one place to swap for the shared
outbound client (wecom/client.py). `session_key` is kept server-side in the ApiSession row only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import requests

from miniapp_api.errors import ApiError
from runtime import Runtime

log = logging.getLogger(__name__)

INVALID_CODE_ERRCODES = {40029, 40163, 40029001}
TIMEOUT = (3.05, 5)


@dataclass(frozen=True)
class WeComIdentity:
    userid: str
    session_key: str | None = None
    corpid: str | None = None


class WeComCallFailed(Exception):
    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"{errcode} {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


def _get(rt: Runtime, path: str, params: dict[str, Any]) -> dict[str, Any]:
    url = f"{rt.settings.wecom_api_base}/{path}"
    try:
        response = requests.get(url, params=params, timeout=TIMEOUT)
        data = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise WeComCallFailed(-2, f"transport: {type(exc).__name__}") from exc
    if not isinstance(data, dict):
        raise WeComCallFailed(-2, "unexpected response")
    errcode = int(data.get("errcode") or 0)
    if errcode != 0:
        raise WeComCallFailed(errcode, str(data.get("errmsg", "")))
    return data


def _access_token(rt: Runtime) -> str:
    data = _get(
        rt,
        "gettoken",
        {"corpid": rt.settings.wecom_corp_id, "corpsecret": rt.settings.wecom_secret},
    )
    return str(data["access_token"])


def exchange_code(rt: Runtime, channel: str, code: str) -> WeComIdentity:
    """jscode2session (mini program) or auth/getuserinfo (H5 OAuth) -> the caller's identity."""
    token = _access_token(rt)
    if channel == "miniprogram":
        data = _get(
            rt,
            "miniprogram/jscode2session",
            {"access_token": token, "js_code": code, "grant_type": "authorization_code"},
        )
        return WeComIdentity(
            userid=str(data.get("userid") or ""),
            session_key=data.get("session_key"),
            corpid=data.get("corpid"),
        )
    data = _get(rt, "auth/getuserinfo", {"access_token": token, "code": code})
    # Older tenants answer "UserId"; non-members get only an openid (no userid).
    return WeComIdentity(userid=str(data.get("userid") or data.get("UserId") or ""))


def identify(rt: Runtime, channel: str, code: str) -> WeComIdentity:
    """The identity behind `code`, or an ApiError the client can act on."""
    try:
        identity = exchange_code(rt, channel, code)
    except WeComCallFailed as exc:
        if exc.errcode in INVALID_CODE_ERRCODES:
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
