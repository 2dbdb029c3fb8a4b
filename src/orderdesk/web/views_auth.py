"""Login: WeCom OAuth inside WeCom, WeCom web login (QR) on a desktop, dev login in sandbox."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from flask import abort, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from werkzeug.wrappers import Response

from orderdesk.core.errors import NotFound
from orderdesk.directory import sessions
from orderdesk.directory.staff import NOT_ENABLED, get_active_staff
from orderdesk.models import Staff
from orderdesk.runtime import Runtime
from orderdesk.web import bp
from orderdesk.web.auth import (
    PRE_COOKIE,
    Page,
    check_csrf,
    csrf_for,
    login_required,
    page_session,
    pre_login_seed,
    runtime,
    set_login_cookie,
)
from orderdesk.wecom.client import get_client
from orderdesk.wecom.errors import WeComError

OAUTH_URL = "https://open.weixin.qq.com/connect/oauth2/authorize"
QR_URL = "https://login.work.weixin.qq.com/wwlogin/sso/login"


def _safe_next(value: str | None) -> str:
    # Only our own pages: an open redirect would turn the login into a phishing tool.
    if value and value.startswith("/m/") and not value.startswith("//"):
        return value
    return url_for("web.home")


def _in_wecom() -> bool:
    return "wxwork" in (request.user_agent.string or "").lower()


def _redirect_uri(next_url: str) -> str:
    return url_for("web.oauth_return", next=next_url, _external=True)


def _wecom_login_url(rt: Runtime, next_url: str, state: str) -> str:
    """snsapi_base inside WeCom's browser; the web login (QR code) anywhere else."""
    if _in_wecom():
        query = urlencode(
            {
                "appid": rt.settings.wecom_corp_id,
                "redirect_uri": _redirect_uri(next_url),
                "response_type": "code",
                "scope": "snsapi_base",
                "state": state,
                "agentid": rt.settings.wecom_agent_id,
            }
        )
        return f"{OAUTH_URL}?{query}#wechat_redirect"
    query = urlencode(
        {
            "login_type": "CorpApp",
            "appid": rt.settings.wecom_corp_id,
            "agentid": rt.settings.wecom_agent_id,
            "redirect_uri": _redirect_uri(next_url),
            "state": state,
        }
    )
    return f"{QR_URL}?{query}"


@bp.get("/m/login")
def login() -> ResponseReturnValue:
    rt = runtime()
    next_url = _safe_next(request.args.get("next"))
    seed = pre_login_seed()
    staff: list[Staff] = []
    if sessions.trusts_caller_word(rt.settings, request.remote_addr):
        with page_session() as pg:
            if pg is not None:
                return redirect(next_url)
        staff = _sandbox_people(rt)
    elif not rt.settings.sandbox:
        # Live: straight to WeCom; the state ties the answer to this browser.
        response = redirect(_wecom_login_url(rt, next_url, csrf_for(rt, seed)))
        pre_login_seed(response)
        return response
    html = render_template(
        "web/login.html", staff=staff, next_url=next_url, csrf=csrf_for(rt, seed)
    )
    response = make_response(html)
    pre_login_seed(response)
    return response


def _sandbox_people(rt: Runtime) -> list[Staff]:
    with rt.db.transaction() as session:
        people = list(
            session.scalars(select(Staff).where(Staff.active.is_(True)).order_by(Staff.userid))
        )
        for person in people:
            _ = person.roles  # loaded before the session closes
        session.expunge_all()
        return people


def _open(userid: str, channel: str, next_url: str) -> Response:
    rt = runtime()
    with rt.db.transaction() as session:
        try:
            staff = get_active_staff(session, userid)
        except NotFound:
            abort(403, NOT_ENABLED)
        row = sessions.open_session(
            session,
            staff=staff,
            channel=channel,
            ip=request.remote_addr,
            user_agent=request.user_agent.string,
        )
        response = redirect(next_url)
        set_login_cookie(response, rt, row)
    return response


@bp.post("/m/login/dev")
def login_dev() -> ResponseReturnValue:
    rt = runtime()
    if not sessions.trusts_caller_word(rt.settings, request.remote_addr):
        abort(404)
    check_csrf(rt, request.cookies.get(PRE_COOKIE))
    userid = (request.form.get("userid") or "").strip()[:64]
    if not userid:
        abort(400, "请选择登录身份")
    return _open(userid, "dev", _safe_next(request.form.get("next")))


@bp.get("/m/auth/oauth")
def oauth_return() -> ResponseReturnValue:
    """WeCom sends the browser back here with a single-use code (OAuth and QR login alike)."""
    rt = runtime()
    code = (request.args.get("code") or "").strip()[:256]
    check_state = request.args.get("state", "")
    seed = request.cookies.get(PRE_COOKIE)
    if not code or not seed or not secrets.compare_digest(check_state, csrf_for(rt, seed)):
        abort(400, "登录请求已过期,请重新进入应用")
    next_url = _safe_next(request.args.get("next"))
    if rt.settings.sandbox:
        # The sandbox directory answers like the API's logins: the code is a userid, and only
        # clients allowed to give their word are heard.
        if not sessions.trusts_caller_word(rt.settings, request.remote_addr):
            abort(403, "沙箱模式只接受本机登录(设置 DEV_LOGIN=1 可放开)")
        return _open(code, "oauth", next_url)
    try:
        userid = get_client(rt).getuserinfo(code)
    except WeComError:
        abort(401, "登录凭证无效或已过期,请重新进入应用")
    if not userid:
        abort(403, "仅限本企业成员使用")
    return _open(userid, "oauth", next_url)


@bp.post("/m/logout")
@login_required
def logout(pg: Page) -> ResponseReturnValue:
    sessions.revoke(pg.session, pg.web_session)
    response = redirect(url_for("web.login"))
    response.delete_cookie("od_web")
    return response
