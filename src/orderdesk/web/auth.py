"""The pages' own login cookie and CSRF tokens.

The cookie is signed with SECRET_KEY (itsdangerous) and names a server-side ApiSession row,
so logging out or disabling a person ends the session at once. The CSRF token is an HMAC of
the session id (or, before login, of a random pre-login cookie): nothing to store.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import abort, current_app, g, redirect, request, url_for
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from orderdesk.core import clock
from orderdesk.core.errors import NotFound, PermissionDenied
from orderdesk.directory import sessions
from orderdesk.models import ApiSession, Staff
from orderdesk.runtime import Runtime

COOKIE = "od_web"
PRE_COOKIE = "od_pre"
SALT = "orderdesk.web.session.v1"


@dataclass
class Page:
    """What a view works with: the request's transaction and the logged-in person."""

    rt: Runtime
    session: Session
    actor: Staff
    web_session: ApiSession


def runtime() -> Runtime:
    rt: Runtime = current_app.extensions["orderdesk"]
    return rt


def _signer(rt: Runtime) -> URLSafeSerializer:
    return URLSafeSerializer(rt.settings.secret_key, salt=SALT)


def csrf_for(rt: Runtime, seed: str) -> str:
    key = rt.settings.secret_key.encode()
    return hmac.new(key, f"csrf:{seed}".encode(), hashlib.sha256).hexdigest()[:32]


def check_csrf(rt: Runtime, seed: str | None) -> None:
    sent = request.form.get("csrf", "")
    if not seed or not hmac.compare_digest(sent, csrf_for(rt, seed)):
        abort(400, "页面已过期,请刷新后重试")


def read_sid(rt: Runtime) -> str | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data = _signer(rt).loads(raw)
    except BadSignature:
        return None
    return data.get("sid") if isinstance(data, dict) else None


def set_login_cookie(response: Response, rt: Runtime, row: ApiSession) -> Response:
    max_age = int((row.expires_at - clock.now()).total_seconds())
    response.set_cookie(
        COOKIE,
        str(_signer(rt).dumps({"sid": row.sid})),
        max_age=max_age,
        httponly=True,
        samesite="Lax",
        secure=not rt.settings.sandbox,
        path="/",
    )
    return response


def pre_login_seed(response: Response | None = None) -> str:
    """The random seed of the login form's CSRF token; set as a cookie on `response` if new."""
    seed = request.cookies.get(PRE_COOKIE) or g.get("pre_seed") or secrets.token_urlsafe(16)
    g.pre_seed = seed
    if response is not None and request.cookies.get(PRE_COOKIE) != seed:
        response.set_cookie(
            PRE_COOKIE,
            seed,
            httponly=True,
            samesite="Lax",
            secure=not runtime().settings.sandbox,
            max_age=3600,
        )
    return seed


@contextmanager
def page_session() -> Iterator[Page | None]:
    """The request's transaction and the logged-in person (None when not logged in).
    Out-of-scope or unknown ids read like a missing page (404), never naming anything."""
    rt = runtime()
    with rt.db.transaction() as session:
        sid = read_sid(rt)
        row = sessions.live_session(session, sid) if sid else None
        try:
            yield Page(rt, session, row.staff, row) if row is not None else None
        except (NotFound, PermissionDenied):
            abort(404)


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Runs `view(page, ...)` inside the request's transaction; POSTs must carry the CSRF token."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with page_session() as pg:
            if pg is None:
                return redirect(url_for("web.login", next=request.full_path.rstrip("?")))
            if request.method == "POST":
                check_csrf(pg.rt, pg.web_session.sid)
            g.page = pg
            try:
                return view(pg, *args, **kwargs)
            finally:
                # The error page renders after the transaction ends: it shows no session data.
                if sys.exc_info()[0] is not None:
                    g.pop("page", None)

    return wrapper
