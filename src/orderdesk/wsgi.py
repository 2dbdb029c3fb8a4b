"""gunicorn entry point: `gunicorn wsgi:app` (what `orderdesk serve` runs when Redis is set)."""

from orderdesk.app import create_app
from orderdesk.core.logs import setup_logging, setup_sentry
from orderdesk.settings import load_settings

_settings = load_settings()
# gunicorn configures only its own loggers: without this every application line is dropped.
setup_logging(_settings.log_format)
setup_sentry(_settings.sentry_dsn, "web")
app = create_app(_settings)
