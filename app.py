"""The Flask application factory."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue

from proxies import behind_proxies
from runtime import Runtime, build_runtime, install
from settings import Settings, load_settings

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, rt: Runtime | None = None) -> Flask:
    settings = settings or (rt.settings if rt else load_settings())
    rt = rt or build_runtime(settings)
    install(rt)

    app = Flask(__name__)
    app.config.update(SECRET_KEY=settings.secret_key, MAX_CONTENT_LENGTH=25 * 1024 * 1024)
    app.extensions["orderdesk"] = rt
    app.wsgi_app = behind_proxies(app.wsgi_app, settings.trusted_proxies)  # type: ignore[assignment,method-assign]
    _log_login_modes(settings)

    _register_health(app, rt)
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
    from bot.views import bp as bot_bp
    from miniapp_api import bp as api_bp

    app.register_blueprint(bot_bp)
    app.register_blueprint(api_bp)


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
