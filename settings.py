"""Typed settings, loaded once per process from the environment (and `.env` when present).

Nothing here runs at import time: `load_settings()` is called by the app factory and the CLI.
A bad value raises `SettingsError` whose message is one line naming the variable and the problem.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ROOT = Path(__file__).resolve().parent

# Development values used in sandbox mode so the local tools (`orderdesk chat`, tests) can sign
# callbacks without a WeCom tenant. They are public by design and refused in live mode.
SANDBOX_CORP_ID = "wwsandbox0000000001"
SANDBOX_AGENT_ID = 1000002
SANDBOX_TOKEN = "orderdesk-sandbox-token"
SANDBOX_AES_KEY = "T3JkZXJEZXNrU2FuZGJveEtleUZvckxvY2FsVGVzdHM"
SANDBOX_BOT_TOKEN = "orderdesk-sandbox-bot-token"
SANDBOX_BOT_AES_KEY = "T3JkZXJEZXNrU2FuZGJveEJvdEtleUZvckxvY2FsVGU"

SECRET_FIELDS = frozenset(
    {
        "secret_key",
        "wecom_secret",
        "wecom_token",
        "wecom_aes_key",
        "wecom_bot_token",
        "wecom_bot_aes_key",
    }
)


class SettingsError(ValueError):
    """A setting has a bad value; the message names the variable."""


def _mask(value: Any) -> str:
    text = str(value or "")
    if not text:
        return "''"
    return f"'{text[:2]}***'" if len(text) > 8 else "'***'"


@dataclass(frozen=True)
class Settings:
    database_url: str = ""
    redis_url: str = ""
    redis_namespace: str = "orderdesk"
    secret_key: str = "dev-secret-key-change-me"
    timezone: str = "Asia/Shanghai"
    wecom_mode: str = "sandbox"
    wecom_api_base: str = "https://qyapi.weixin.qq.com/cgi-bin"
    wecom_corp_id: str = SANDBOX_CORP_ID
    wecom_agent_id: int = SANDBOX_AGENT_ID
    wecom_secret: str = ""
    wecom_token: str = SANDBOX_TOKEN
    wecom_aes_key: str = SANDBOX_AES_KEY
    wecom_bot_token: str = SANDBOX_BOT_TOKEN
    wecom_bot_aes_key: str = SANDBOX_BOT_AES_KEY
    wecom_role_tags: str = ""
    miniapp_appid: str = ""
    storage_dir: str = ""
    web_workers: int = 2
    handler_budget_seconds: float = 3.0
    outbox_max_attempts: int = 8
    business_hours: str = "09:00-20:00"
    holidays: str = ""
    cors_origins: str = ""
    jobs_sync: bool = False
    redis_give_up_seconds: float = 600.0
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    def __repr__(self) -> str:
        parts = []
        for f in fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            shown = _mask(value) if f.name in SECRET_FIELDS else repr(value)
            if f.name in {"database_url", "redis_url"}:
                shown = repr(re.sub(r"://([^:/@]*):[^@]+@", r"://\1:***@", str(value)))
            parts.append(f"{f.name}={shown}")
        return f"Settings({', '.join(parts)})"

    __str__ = __repr__

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def sandbox(self) -> bool:
        return self.wecom_mode == "sandbox"

    @property
    def storage_path(self) -> Path:
        return Path(self.storage_dir)

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some values changed and validated again (tests, CLI flags)."""
        return _validate(replace(self, **changes))


def _env_bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise SettingsError(f"{name}: expected true or false, got {raw!r}")


def _check_aes_key(name: str, key: str) -> None:
    if len(key) != 43:
        raise SettingsError(f"{name}: must be 43 characters (WeCom EncodingAESKey), got {len(key)}")
    try:
        raw = base64.b64decode(key + "=", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SettingsError(f"{name}: not valid base64 ({exc})") from exc
    if len(raw) != 32:
        raise SettingsError(f"{name}: must decode to 32 bytes, got {len(raw)}")


def _is_iso_date(raw: str) -> bool:
    try:
        date.fromisoformat(raw)
    except ValueError:
        return False
    return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw))


def _check_business_hours(raw: str) -> None:
    match = re.fullmatch(r"(\d{2}):(\d{2})-(\d{2}):(\d{2})", raw)
    h1, m1, h2, m2 = (int(x) for x in match.groups()) if match else (99, 0, 0, 0)
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h1, m1) >= (h2, m2):
        raise SettingsError(f"BUSINESS_HOURS: expected HH:MM-HH:MM, start before end, got {raw!r}")


def _check_database_url(url: str) -> None:
    if not url:
        return
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError as exc:
        raise SettingsError(
            "DATABASE_URL: expected a SQLAlchemy URL such as sqlite:///path.db"
        ) from exc
    if backend not in {"sqlite", "postgresql"}:
        raise SettingsError(
            f"DATABASE_URL: only sqlite and postgresql are supported, got {backend}"
        )


def _check_role_tags(spec: str) -> None:
    from models.staff import ROLES

    for pair in filter(None, (p.strip() for p in spec.split(","))):
        role, sep, tag = pair.partition("=")
        if not sep or not tag.strip():
            raise SettingsError(f"WECOM_ROLE_TAGS: expected role=tag pairs, got {pair!r}")
        if role.strip() not in ROLES:
            raise SettingsError(
                f"WECOM_ROLE_TAGS: unknown role {role.strip()!r} (one of {', '.join(ROLES)})"
            )


def _validate(s: Settings) -> Settings:
    if s.wecom_mode not in {"sandbox", "live"}:
        raise SettingsError(f"WECOM_MODE: must be 'sandbox' or 'live', got {s.wecom_mode!r}")
    try:
        ZoneInfo(s.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SettingsError(f"TIMEZONE: unknown time zone {s.timezone!r}") from exc
    _check_aes_key("WECOM_AES_KEY", s.wecom_aes_key)
    _check_aes_key("WECOM_BOT_AES_KEY", s.wecom_bot_aes_key)
    for name, value in (("WECOM_TOKEN", s.wecom_token), ("WECOM_BOT_TOKEN", s.wecom_bot_token)):
        if not re.fullmatch(r"[A-Za-z0-9\-_]{3,64}", value):
            raise SettingsError(f"{name}: 3-64 letters, digits, '-' or '_' expected")
    if not s.wecom_api_base.startswith(("http://", "https://")):
        raise SettingsError("WECOM_API_BASE: must start with http:// or https://")
    if s.wecom_mode == "live":
        if not s.wecom_secret:
            raise SettingsError("WECOM_SECRET: required when WECOM_MODE=live")
        if s.wecom_token in {SANDBOX_TOKEN} or s.wecom_aes_key == SANDBOX_AES_KEY:
            raise SettingsError("WECOM_TOKEN/WECOM_AES_KEY: sandbox values are not allowed live")
        if len(s.secret_key) < 16 or s.secret_key == Settings.secret_key:
            raise SettingsError("SECRET_KEY: at least 16 random characters are required live")
    _check_business_hours(s.business_hours)
    for day in filter(None, (d.strip() for d in s.holidays.split(","))):
        if not _is_iso_date(day):
            raise SettingsError(f"HOLIDAYS: expected comma-separated YYYY-MM-DD dates, got {day!r}")
    _check_database_url(s.database_url)
    _check_role_tags(s.wecom_role_tags)
    for origin in filter(None, (o.strip() for o in s.cors_origins.split(","))):
        if not re.fullmatch(r"https?://[^\s/]+/?", origin):
            raise SettingsError(f"CORS_ORIGINS: expected origins like https://host, got {origin!r}")
    if not re.fullmatch(r"[A-Za-z0-9_.:\-]{1,64}", s.redis_namespace):
        raise SettingsError("REDIS_NAMESPACE: 1-64 letters, digits, '_', '.', ':' or '-' expected")
    if s.wecom_agent_id < 0:
        raise SettingsError("WECOM_AGENT_ID: must not be negative")
    if s.outbox_max_attempts < 1:
        raise SettingsError("OUTBOX_MAX_ATTEMPTS: must be at least 1")
    if s.wecom_corp_id and not re.fullmatch(r"[A-Za-z0-9]{1,64}", s.wecom_corp_id):
        raise SettingsError("WECOM_CORP_ID: letters and digits expected (企业 ID, e.g. ww...)")
    if s.wecom_secret and not re.fullmatch(r"[\x21-\x7e]{1,128}", s.wecom_secret):
        raise SettingsError("WECOM_SECRET: printable ASCII without spaces expected")
    if s.miniapp_appid and not re.fullmatch(r"wx[0-9A-Za-z]{1,30}", s.miniapp_appid):
        raise SettingsError("MINIAPP_APPID: a mini program app id starting with 'wx' expected")
    if s.storage_dir and Path(s.storage_dir).exists() and not Path(s.storage_dir).is_dir():
        raise SettingsError("STORAGE_DIR: exists and is not a directory")
    if s.redis_url and not s.redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError("REDIS_URL: expected redis://host:port/db")
    if s.redis_give_up_seconds <= 0:
        raise SettingsError("REDIS_GIVE_UP_SECONDS: must be positive")
    if s.web_workers < 1:
        raise SettingsError("WEB_WORKERS: must be at least 1")
    if s.handler_budget_seconds <= 0 or s.handler_budget_seconds > 4.5:
        raise SettingsError("HANDLER_BUDGET_SECONDS: must be in (0, 4.5] (WeCom waits 5 s)")
    return s


def load_settings(
    environ: Mapping[str, str] | None = None, *, dotenv: bool = True, **overrides: Any
) -> Settings:
    """Read settings from `environ` (default: os.environ, plus `.env` in the working directory)."""
    env: dict[str, str] = {}
    if environ is None:
        if dotenv:
            from dotenv import dotenv_values

            env.update({k: v for k, v in dotenv_values(".env").items() if v is not None})
        env.update(os.environ)
    else:
        env.update(environ)

    def get(name: str, default: str = "") -> str:
        return env.get(name, default).strip()

    def get_int(name: str, default: int) -> int:
        raw = get(name)
        if not raw:
            return default
        try:
            return int(raw)
        except ValueError as exc:
            raise SettingsError(f"{name}: expected a whole number, got {raw!r}") from exc

    def get_float(name: str, default: float) -> float:
        raw = get(name)
        if not raw:
            return default
        try:
            return float(raw)
        except ValueError as exc:
            raise SettingsError(f"{name}: expected a number, got {raw!r}") from exc

    secret = get("WECOM_SECRET")
    mode = get("WECOM_MODE") or ("live" if secret else "sandbox")
    sandbox = mode == "sandbox"
    instance = ROOT / "instance"
    values: dict[str, Any] = {
        "database_url": get("DATABASE_URL") or f"sqlite:///{instance / 'orderdesk.db'}",
        "redis_url": get("REDIS_URL"),
        "redis_namespace": get("REDIS_NAMESPACE", "orderdesk") or "orderdesk",
        "secret_key": get("SECRET_KEY") or Settings.secret_key,
        "timezone": get("TIMEZONE") or "Asia/Shanghai",
        "wecom_mode": mode,
        "wecom_api_base": (get("WECOM_API_BASE") or Settings.wecom_api_base).rstrip("/"),
        "wecom_corp_id": get("WECOM_CORP_ID") or (SANDBOX_CORP_ID if sandbox else ""),
        "wecom_agent_id": get_int("WECOM_AGENT_ID", SANDBOX_AGENT_ID if sandbox else 0),
        "wecom_secret": secret,
        "wecom_token": get("WECOM_TOKEN") or (SANDBOX_TOKEN if sandbox else ""),
        "wecom_aes_key": get("WECOM_AES_KEY") or (SANDBOX_AES_KEY if sandbox else ""),
        "wecom_bot_token": get("WECOM_BOT_TOKEN") or (SANDBOX_BOT_TOKEN if sandbox else ""),
        "wecom_bot_aes_key": get("WECOM_BOT_AES_KEY") or (SANDBOX_BOT_AES_KEY if sandbox else ""),
        "wecom_role_tags": get("WECOM_ROLE_TAGS"),
        "miniapp_appid": get("MINIAPP_APPID"),
        "storage_dir": get("STORAGE_DIR") or str(instance / "storage"),
        "web_workers": get_int("WEB_WORKERS", 2),
        "handler_budget_seconds": get_float("HANDLER_BUDGET_SECONDS", 3.0),
        "outbox_max_attempts": get_int("OUTBOX_MAX_ATTEMPTS", 8),
        "business_hours": get("BUSINESS_HOURS") or "09:00-20:00",
        "holidays": get("HOLIDAYS"),
        "cors_origins": get("CORS_ORIGINS"),
        "jobs_sync": _env_bool("JOBS_SYNC", get("JOBS_SYNC", "false")),
        "redis_give_up_seconds": get_float("REDIS_GIVE_UP_SECONDS", 600.0),
        "extra": {k: v for k, v in env.items() if k.startswith("ORDERDESK_")},
    }
    values.update(overrides)
    if mode == "live":
        for name in ("WECOM_CORP_ID", "WECOM_TOKEN", "WECOM_AES_KEY"):
            if not values[name.lower()]:
                raise SettingsError(f"{name}: required when WECOM_MODE=live")
        if not values["wecom_bot_token"]:
            values["wecom_bot_token"] = values["wecom_token"]
        if not values["wecom_bot_aes_key"]:
            values["wecom_bot_aes_key"] = values["wecom_aes_key"]
    return _validate(Settings(**values))
