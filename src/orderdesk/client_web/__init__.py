"""Pages a client opens without a login: the order status page behind a status link (/c/<token>).

Read-only, `noindex`, no caching by shared proxies, rate-limited per client address. Every
refusal (unknown, revoked or expired token) is the same 404 page.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, make_response, render_template, request

from orderdesk.core.errors import NotFound
from orderdesk.core.ratelimit import LoginLimiter
from orderdesk.delivery import signoff, status_links
from orderdesk.runtime import Runtime

bp = Blueprint("client_web", __name__, url_prefix="/c", template_folder="templates")

# Views per client address and minute: a person reloading is far below it, a token guesser is
# stopped long before luck matters (256-bit tokens make guessing hopeless anyway).
VIEWS_PER_MINUTE = 30
TOKEN_MAX = 64
HEADERS = {
    "X-Robots-Tag": "noindex, nofollow",
    "Cache-Control": "private, no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
}


def _runtime() -> Runtime:
    rt: Runtime = current_app.extensions["orderdesk"]
    return rt


def _limiter(rt: Runtime) -> LoginLimiter:
    limiter: LoginLimiter | None = rt.extensions.get("client_page_limiter")
    if limiter is None:
        limiter = LoginLimiter(
            VIEWS_PER_MINUTE, rt.redis, rt.settings.redis_namespace, scope="client:view"
        )
        rt.extensions["client_page_limiter"] = limiter
    return limiter


def _page(body: str, status: int, extra: dict[str, str] | None = None) -> Response:
    response = make_response(body, status)
    response.headers.update({**HEADERS, **(extra or {})})
    return response


@bp.get("/<token>")
def status_page(token: str) -> Response:
    rt = _runtime()
    retry_after = _limiter(rt).hit(request.remote_addr or "unknown")
    if retry_after is not None:
        html = render_template("client/refused.html", message="访问过于频繁,请稍后再试")
        return _page(html, 429, {"Retry-After": str(retry_after)})
    if len(token) > TOKEN_MAX:
        return _not_found()
    try:
        # Committed with the view's timeline entry; a refused token writes nothing.
        with rt.db.transaction() as session:
            status = status_links.open_link(
                session,
                token=token,
                secret=rt.settings.secret_key,
                ip=request.remote_addr,
                user_agent=request.headers.get("User-Agent"),
            )
            # No deliverables (most orders): no versions to wait for, no extra statement.
            awaiting = (
                signoff.awaiting(session, order_number=status.number) if status.deliverables else []
            )
            html = render_template(
                "client/status.html", s=status, tz=rt.settings.tz, awaiting=awaiting, token=token
            )
    except NotFound:
        return _not_found()
    return _page(html, 200)


def _not_found() -> Response:
    """One page for every refused token: it names no order and says nothing about why."""
    return _page(render_template("client/refused.html", message=status_links.LINK_NOT_FOUND), 404)


# The sign-off pages (issue 15) register on the same blueprint.
from orderdesk.client_web import signoff_pages  # noqa: E402,F401
