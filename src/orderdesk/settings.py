"""Typed settings, loaded once per process from the environment (and `.env` when present).

Nothing here runs at import time: `load_settings()` is called by the app factory and the CLI.
A bad value raises `SettingsError` whose message is one line naming the variable and the problem.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from orderdesk.models.staff import ROLES

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
        "sentry_dsn",
    }
)

# Fields whose environment variable is not simply the field name in capitals.
ENV_NAMES = {"home": "ORDERDESK_HOME"}
# Sandbox mode fills these with the public development values (the dataclass defaults below);
# live mode has no default for them.
SANDBOX_ONLY_DEFAULTS = frozenset(
    {
        "wecom_corp_id",
        "wecom_agent_id",
        "wecom_token",
        "wecom_aes_key",
        "wecom_bot_token",
        "wecom_bot_aes_key",
    }
)
LOG_FORMATS = ("text", "json")

# Keys that only a real WeCom tenant has: setting any of them without WECOM_SECRET is a live
# deployment missing its secret, not a sandbox (sandbox must be chosen with WECOM_MODE=sandbox).
LIVE_KEYS = (
    "WECOM_CORP_ID",
    "WECOM_TOKEN",
    "WECOM_AES_KEY",
    "WECOM_BOT_TOKEN",
    "WECOM_BOT_AES_KEY",
)
SANDBOX_VALUES = frozenset(
    {SANDBOX_CORP_ID, SANDBOX_TOKEN, SANDBOX_AES_KEY, SANDBOX_BOT_TOKEN, SANDBOX_BOT_AES_KEY}
)
MAX_PROXY_HOPS = 5

ProxySpec = int | tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


class SettingsError(ValueError):
    """A setting has a bad value; the message names the variable."""


def _mask(value: Any) -> str:
    text = str(value or "")
    if not text:
        return "''"
    return f"'{text[:2]}***'" if len(text) > 8 else "'***'"


@dataclass(frozen=True)
class Settings:
    """Every setting with its default: the one table `load_settings` reads the environment into.
    An empty variable means "the default"; `database_url` and `storage_dir` default to files
    under `home` (ORDERDESK_HOME, else the working directory), never under the package."""

    home: str = ""
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
    workdays: str = ""
    cors_origins: str = ""
    jobs_sync: bool = False
    dev_login: bool = False
    trusted_proxies: str = ""
    log_format: str = "text"
    metrics_allow: str = ""
    sentry_dsn: str = ""
    redis_give_up_seconds: float = 600.0
    # Where clients reach this service: the base of client status links (e.g. https://od.example.com).
    public_url: str = ""
    # After-sales tickets: a resolved or closed ticket may be reopened within this many days.
    ticket_reopen_days: int = 7
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


def parse_trusted_proxies(raw: str) -> ProxySpec:
    """TRUSTED_PROXIES: a number of proxy hops in front of the app, or the proxies' addresses
    (CIDRs, comma-separated). 0 / empty: no proxy, REMOTE_ADDR is the client."""
    raw = raw.strip()
    if not raw:
        return 0
    if raw.isascii() and raw.isdigit():
        if int(raw) > MAX_PROXY_HOPS:
            raise SettingsError(f"TRUSTED_PROXIES: at most {MAX_PROXY_HOPS} hops, got {raw}")
        return int(raw)
    networks = []
    for part in filter(None, (p.strip() for p in raw.split(","))):
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError as exc:
            raise SettingsError(
                f"TRUSTED_PROXIES: expected a hop count or CIDRs like 10.0.0.0/8, got {part!r}"
            ) from exc
    return tuple(networks)


def _check_role_tags(spec: str) -> None:
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
    if s.dev_login and s.wecom_mode != "sandbox":
        raise SettingsError("DEV_LOGIN: only allowed in sandbox mode (WECOM_MODE=sandbox)")
    parse_trusted_proxies(s.trusted_proxies)
    _check_business_hours(s.business_hours)
    for name, raw in (("HOLIDAYS", s.holidays), ("WORKDAYS", s.workdays)):
        for day in filter(None, (d.strip() for d in raw.split(","))):
            if not _is_iso_date(day):
                raise SettingsError(
                    f"{name}: expected comma-separated YYYY-MM-DD dates, got {day!r}"
                )
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
    if s.ticket_reopen_days < 0:
        raise SettingsError("TICKET_REOPEN_DAYS: must not be negative")
    if s.redis_give_up_seconds <= 0:
        raise SettingsError("REDIS_GIVE_UP_SECONDS: must be positive")
    if s.web_workers < 1:
        raise SettingsError("WEB_WORKERS: must be at least 1")
    if s.handler_budget_seconds <= 0 or s.handler_budget_seconds > 4.5:
        raise SettingsError("HANDLER_BUDGET_SECONDS: must be in (0, 4.5] (WeCom waits 5 s)")
    if s.log_format not in LOG_FORMATS:
        raise SettingsError(f"LOG_FORMAT: must be 'text' or 'json', got {s.log_format!r}")
    _check_networks(s.metrics_allow)
    if s.sentry_dsn and not s.sentry_dsn.startswith(("https://", "http://")):
        raise SettingsError("SENTRY_DSN: expected https://key@host/project")
    return s


def _check_networks(spec: str) -> None:
    for item in filter(None, (n.strip() for n in spec.split(","))):
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError as exc:
            raise SettingsError(
                f"METRICS_ALLOW: expected networks like 10.0.0.0/8, got {item!r}"
            ) from exc


def _env_name(name: str) -> str:
    return ENV_NAMES.get(name, name.upper())


def _parse(name: str, kind: str, raw: str) -> Any:
    """The text of an environment variable as the field's type (named by its annotation)."""
    env = _env_name(name)
    if kind == "bool":
        return _env_bool(env, raw)
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError as exc:
        noun = "a whole number" if kind == "int" else "a number"
        raise SettingsError(f"{env}: expected {noun}, got {raw!r}") from exc
    return raw


def _read_environment(env: Mapping[str, str]) -> dict[str, Any]:
    """The non-empty variables named by the fields, parsed; everything else keeps its default."""
    values: dict[str, Any] = {}
    for f in fields(Settings):
        raw = env.get(_env_name(f.name), "").strip()
        if f.name != "extra" and raw:
            values[f.name] = _parse(f.name, str(f.type), raw)
    return values


def _live_value(value: str) -> bool:
    return bool(value) and value not in SANDBOX_VALUES


def _refuse_accidental_sandbox(live_keys: list[str]) -> None:
    """Live keys without WECOM_SECRET used to fall back to sandbox silently, with its open dev
    login: a deployment that forgot its secret. Stop instead; sandbox is chosen explicitly."""
    if live_keys:
        raise SettingsError(
            f"WECOM_SECRET: required because {', '.join(live_keys)} set "
            "(or set WECOM_MODE=sandbox to run the sandbox on purpose)"
        )


def load_settings(
    environ: Mapping[str, str] | None = None, *, dotenv: bool = True, **overrides: Any
) -> Settings:
    """Read settings from `environ` (default: os.environ, plus `.env` in the working directory)."""
    env: dict[str, str] = {}
    if environ is None:
        if dotenv:
            env.update({k: v for k, v in dotenv_values(".env").items() if v is not None})
        env.update(os.environ)
    else:
        env.update(environ)

    values = _read_environment(env)
    # Named before validation, refused after it (a malformed key is reported as such first).
    explicit = "wecom_mode" in values or "wecom_secret" in values
    accidental = (
        [] if explicit else [n for n in LIVE_KEYS if _live_value(str(values.get(n.lower(), "")))]
    )
    mode = values.setdefault("wecom_mode", "live" if values.get("wecom_secret") else "sandbox")
    if mode != "sandbox":
        for name in SANDBOX_ONLY_DEFAULTS:
            values.setdefault(name, 0 if name == "wecom_agent_id" else "")
    home = Path(values.get("home") or os.getcwd()).resolve()
    instance = home / "instance"
    values["home"] = str(home)
    values.setdefault("database_url", f"sqlite:///{instance / 'orderdesk.db'}")
    values.setdefault("storage_dir", str(instance / "storage"))
    values["wecom_api_base"] = values.get("wecom_api_base", Settings.wecom_api_base).rstrip("/")
    values["extra"] = {k: v for k, v in env.items() if k.startswith("ORDERDESK_")}
    values.update(overrides)
    if mode == "live":
        for name in ("WECOM_CORP_ID", "WECOM_TOKEN", "WECOM_AES_KEY"):
            if not values[name.lower()]:
                raise SettingsError(f"{name}: required when WECOM_MODE=live")
        values["wecom_bot_token"] = values["wecom_bot_token"] or values["wecom_token"]
        values["wecom_bot_aes_key"] = values["wecom_bot_aes_key"] or values["wecom_aes_key"]
    settings = _validate(Settings(**values))
    _refuse_accidental_sandbox(accidental)
    return settings
