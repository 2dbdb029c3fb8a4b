"""The Flask application factory."""

from __future__ import annotations

import logging

from flask import Flask, Response, abort, g, jsonify, request
from flask.typing import ResponseReturnValue

from orderdesk import metrics
from orderdesk.bot.views import bp as bot_bp
from orderdesk.core.logs import NO_REQUEST, current_request_id, enter_request, leave_request
from orderdesk.miniapp_api import bp as api_bp
from orderdesk.proxies import behind_proxies
from orderdesk.runtime import Runtime, build_runtime, install
from orderdesk.settings import Settings, load_settings

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, rt: Runtime | None = None) -> Flask:
    settings = settings or (rt.settings if rt else load_settings())
    rt = rt or build_runtime(settings)
    install(rt)

    app = Flask(__name__)
    # No SECRET_KEY for Flask: nothing uses its cookie session (the mini-app signs its own bearer
    # tokens with settings.secret_key), and with a key Flask builds a signing serializer for
    # every request, callbacks included (~0.1-0.2 ms of CPU each, measured with bench/callback.py).
    app.config.update(MAX_CONTENT_LENGTH=25 * 1024 * 1024)
    app.extensions["orderdesk"] = rt
    app.wsgi_app = behind_proxies(app.wsgi_app, settings.trusted_proxies)  # type: ignore[assignment,method-assign]
    _log_login_modes(settings)

    _register_request_id(app)
    _register_health(app, rt)
    _register_metrics(app, rt)
    _register_blueprints(app)
    return app


def _log_login_modes(settings: Settings) -> None:
    # Said once at start so an operator sees at a glance who may log in without WeCom.
    if not settings.sandbox:
        log.info("WeCom live mode: dev login is off")
    elif settings.dev_login:
        log.warning("WeCom sandbox mode: dev login open to every client (DEV_LOGIN=1)")
    else:
        log.info("WeCom sandbox mode: dev login open to loopback clients only")


def runtime_of(app: Flask) -> Runtime:
    rt: Runtime = app.extensions["orderdesk"]
    return rt


def _register_blueprints(app: Flask) -> None:
    app.register_blueprint(bot_bp)
    app.register_blueprint(api_bp)

    # Issue 15: the client status page (/c/<token>)
    from orderdesk.client_web import bp as client_bp

    app.register_blueprint(client_bp)

    # H5 pages (issue 14): their own signed cookie, see web/auth.py.
    from orderdesk.web import bp as web_bp

    app.register_blueprint(web_bp)

    # The simulator's "run now" buttons start scheduled jobs through the scheduler's own
    # enqueue path; web/ may not import jobs/ (sibling entry points), so the app hands it over.
    from orderdesk.jobs.scheduler import ManualRuns

    app.extensions["orderdesk.manual_runs"] = ManualRuns(runtime_of(app))


def _register_request_id(app: Flask) -> None:
    """Every log line of a request carries its id; the response names it (X-Request-Id), and
    a 500's `ref` is the same id, so support can find the traceback."""

    @app.before_request
    def _bind_request_id() -> None:
        g.request_id_token = enter_request(request.headers.get("X-Request-Id"))

    @app.after_request
    def _name_request_id(response: Response) -> Response:
        rid = current_request_id()
        if rid != NO_REQUEST:
            response.headers["X-Request-Id"] = rid
        return response

    @app.teardown_request
    def _unbind_request_id(_exc: BaseException | None) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            leave_request(token)


def _register_metrics(app: Flask, rt: Runtime) -> None:
    @app.get("/metrics")
    def metrics_endpoint() -> ResponseReturnValue:
        # Closed like a missing page to anyone but loopback and the METRICS_ALLOW networks.
        if not metrics.allowed(request.remote_addr, rt.settings.metrics_allow):
            abort(404)
        body, content_type = metrics.render(rt)
        return Response(body, status=200, content_type=content_type)


def _register_health(app: Flask, rt: Runtime) -> None:
    @app.get("/healthz")
    def healthz() -> ResponseReturnValue:
        return jsonify(status="ok"), 200

    @app.get("/readyz")
    def readyz() -> ResponseReturnValue:
        failing: dict[str, str] = {}
        try:
            rt.db.ping()
        except Exception as exc:  # any driver error means "not ready"
            failing["database"] = type(exc).__name__
        if rt.redis is not None:
            try:
                rt.redis.ping()
            except Exception as exc:
                failing["redis"] = type(exc).__name__
        if failing:
            return jsonify(status="unavailable", failing=failing), 503
        return jsonify(status="ok"), 200
