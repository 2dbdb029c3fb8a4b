"""The client's sign-off page for one deliverable version (/c/s/<token>), also reachable from the
status page (/c/<status token>/v/<version id>) while a live sign-off link exists.

No login and no session: the form carries a token bound to the link (delivery.signoff), the
page is `noindex`, rate-limited like the status page, and every refused token is the same 404.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, render_template, request, send_file
from sqlalchemy.orm import Session

from orderdesk.client_web import HEADERS, TOKEN_MAX, _limiter, _not_found, _page, _runtime, bp
from orderdesk.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from orderdesk.delivery import signoff
from orderdesk.orders.attachments import download_of

Resolver = Callable[[Session, str], signoff.Access]


def _limited() -> Response | None:
    retry_after = _limiter(_runtime()).hit(request.remote_addr or "unknown")
    if retry_after is None:
        return None
    html = render_template("client/refused.html", message="访问过于频繁,请稍后再试")
    return _page(html, 429, {"Retry-After": str(retry_after)})


def _show(
    resolve: Resolver, token: str, *, error: str | None = None, status: int = 200
) -> Response:
    rt = _runtime()
    with rt.db.transaction() as session:
        access = resolve(session, token)
        page = signoff.page_of(
            session,
            access,
            secret=rt.settings.secret_key,
            ip=request.remote_addr,
            user_agent=request.headers.get("User-Agent"),
            log=request.method == "GET",
        )
        html = render_template(
            "client/signoff.html", p=page, error=error, tz=rt.settings.tz, action=request.path
        )
    return _page(html, status)


def _post(resolve: Resolver, token: str) -> Response:
    rt = _runtime()
    try:
        with rt.db.transaction() as session:
            signoff.decide(
                session,
                resolve(session, token),
                secret=rt.settings.secret_key,
                token=request.form.get("form_token", ""),
                decision=request.form.get("decision", ""),
                comment=request.form.get("comment"),
                ip=request.remote_addr,
                user_agent=request.headers.get("User-Agent"),
            )
    except NotFound:
        raise
    except PermissionDenied as exc:
        return _show(resolve, token, error=exc.message, status=403)
    except Conflict as exc:
        return _show(resolve, token, error=exc.message, status=409)
    except DomainError as exc:
        return _show(resolve, token, error=exc.message, status=422)
    return _show(resolve, token)


def _download(resolve: Resolver, token: str) -> Response:
    rt = _runtime()
    with rt.db.transaction() as session:
        access = resolve(session, token)
        file = download_of(rt.settings, access.version.attachment)
    if not file.path.is_file():
        return _not_found()
    response = send_file(
        file.path, mimetype=file.content_type, as_attachment=True, download_name=file.name
    )
    response.headers.update(HEADERS)
    return response


def _serve(resolve: Resolver, token: str, *, download: bool = False) -> Response:
    """Rate limit, token shape, then the page; every refused token is the same 404 page."""
    refused = _limited()
    if refused is not None:
        return refused
    if len(token) > TOKEN_MAX:
        return _not_found()
    try:
        if download:
            return _download(resolve, token)
        return _post(resolve, token) if request.method == "POST" else _show(resolve, token)
    except NotFound:
        return _not_found()


def _by_signoff(session: Session, token: str) -> signoff.Access:
    secret = _runtime().settings.secret_key
    return signoff.by_signoff_token(session, token=token, secret=secret)


def _by_status(version_id: int) -> Resolver:
    def resolve(session: Session, token: str) -> signoff.Access:
        secret = _runtime().settings.secret_key
        return signoff.by_status_token(session, token=token, secret=secret, version_id=version_id)

    return resolve


@bp.route("/s/<token>", methods=["GET", "POST"])
def signoff_page(token: str) -> Response:
    return _serve(_by_signoff, token)


@bp.get("/s/<token>/file")
def signoff_file(token: str) -> Response:
    return _serve(_by_signoff, token, download=True)


@bp.route("/<token>/v/<int:version_id>", methods=["GET", "POST"])
def status_signoff_page(token: str, version_id: int) -> Response:
    return _serve(_by_status(version_id), token)


@bp.get("/<token>/v/<int:version_id>/file")
def status_signoff_file(token: str, version_id: int) -> Response:
    return _serve(_by_status(version_id), token, download=True)
