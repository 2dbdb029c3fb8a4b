"""WeCom callback endpoints (filled in by the WeCom-edge issue)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("wecom", __name__)
