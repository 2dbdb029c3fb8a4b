"""Settings: one-line errors naming the variable, sandbox defaults, live secrets, .env, masks."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from orderdesk.settings import (
    SANDBOX_AES_KEY,
    SANDBOX_BOT_AES_KEY,
    SANDBOX_BOT_TOKEN,
    SANDBOX_CORP_ID,
    SANDBOX_TOKEN,
    SettingsError,
    load_settings,
)

LIVE = {
    "WECOM_SECRET": "live-app-secret-value-42",
    "WECOM_CORP_ID": "ww0123456789abcdef",
    "WECOM_AGENT_ID": "1000005",
    "WECOM_TOKEN": "liveToken123",
    "WECOM_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "SECRET_KEY": "a-long-random-secret-key-0000",
}

# Every variable with a checkable value: a bad value -> one line that names the variable.
BAD_VALUES = [
    ("DATABASE_URL", "not a url"),
    ("DATABASE_URL", "mysql://u@h/db"),
    ("REDIS_URL", "http://127.0.0.1:6379"),
    ("REDIS_NAMESPACE", "has spaces in it"),
    ("TIMEZONE", "Mars/Olympus_Mons"),
    ("WECOM_MODE", "production"),
    ("WECOM_API_BASE", "qyapi.weixin.qq.com/cgi-bin"),
    ("WECOM_AGENT_ID", "abc"),
    ("WECOM_AGENT_ID", "-5"),
    ("WECOM_TOKEN", "x"),
    ("WECOM_TOKEN", "spaces are not allowed"),
    ("WECOM_AES_KEY", "short"),
    ("WECOM_AES_KEY", "!" * 43),
    ("WECOM_BOT_TOKEN", "a b"),
    ("WECOM_BOT_AES_KEY", "x" * 42),
    ("WECOM_ROLE_TAGS", "finance"),
    ("WECOM_ROLE_TAGS", "wizard=巫师"),
    ("CORS_ORIGINS", "not-an-origin"),
    ("WEB_WORKERS", "0"),
    ("WEB_WORKERS", "many"),
    ("HANDLER_BUDGET_SECONDS", "5"),
    ("HANDLER_BUDGET_SECONDS", "fast"),
    ("OUTBOX_MAX_ATTEMPTS", "0"),
    ("OUTBOX_MAX_ATTEMPTS", "3.5"),
    ("BUSINESS_HOURS", "9-18"),
    ("BUSINESS_HOURS", "25:00-26:00"),
    ("BUSINESS_HOURS", "18:00-09:00"),
    ("HOLIDAYS", "2027-13-45"),
    ("HOLIDAYS", "2027-01-01,tomorrow"),
    ("WORKDAYS", "2027-02-30"),
    ("JOBS_SYNC", "maybe"),
    ("WECOM_CORP_ID", "ww 123"),
    ("MINIAPP_APPID", "not-an-appid"),
    ("LOG_FORMAT", "xml"),
    ("METRICS_ALLOW", "10.0.0.0/8, the office"),
    ("SENTRY_DSN", "sentry.example.com/1"),
]


@pytest.mark.parametrize(("name", "value"), BAD_VALUES)
def test_a_bad_value_stops_with_one_line_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings({name: value})
    message = str(err.value)
    assert message.startswith(f"{name}:")
    assert "\n" not in message


def test_secret_and_storage_values_are_checked(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"^WECOM_SECRET: printable ASCII"):
        load_settings(LIVE | {"WECOM_SECRET": "has a space"})
    a_file = tmp_path / "not-a-dir"
    a_file.write_text("x", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"^STORAGE_DIR: exists and is not a directory"):
        load_settings({"STORAGE_DIR": str(a_file)})
    assert load_settings({"STORAGE_DIR": str(tmp_path / "new")}).storage_dir.endswith("new")


@pytest.mark.parametrize(
    ("missing", "needle"),
    [
        ("WECOM_CORP_ID", "WECOM_CORP_ID: required when WECOM_MODE=live"),
        ("WECOM_TOKEN", "WECOM_TOKEN: required when WECOM_MODE=live"),
        ("WECOM_AES_KEY", "WECOM_AES_KEY: required when WECOM_MODE=live"),
        ("SECRET_KEY", "SECRET_KEY: at least 16 random characters"),
    ],
)
def test_live_requires_its_secrets(missing: str, needle: str) -> None:
    env = {k: v for k, v in LIVE.items() if k != missing}
    with pytest.raises(SettingsError) as err:
        load_settings(env)
    assert needle in str(err.value)


def test_live_mode_without_secret_is_refused() -> None:
    env = {k: v for k, v in LIVE.items() if k != "WECOM_SECRET"} | {"WECOM_MODE": "live"}
    with pytest.raises(SettingsError, match="WECOM_SECRET: required"):
        load_settings(env)


def test_live_refuses_the_public_sandbox_keys() -> None:
    with pytest.raises(SettingsError, match="sandbox values are not allowed live"):
        load_settings(LIVE | {"WECOM_AES_KEY": SANDBOX_AES_KEY})


def test_live_settings_load_and_bot_falls_back_to_app_credentials() -> None:
    s = load_settings(LIVE)
    assert s.wecom_mode == "live" and not s.sandbox
    assert s.wecom_agent_id == 1000005
    assert s.wecom_bot_token == LIVE["WECOM_TOKEN"]
    assert s.wecom_bot_aes_key == LIVE["WECOM_AES_KEY"]


def test_sandbox_defaults_when_nothing_is_configured() -> None:
    s = load_settings({})
    assert s.wecom_mode == "sandbox" and s.sandbox
    assert (s.wecom_corp_id, s.wecom_token, s.wecom_aes_key) == (
        SANDBOX_CORP_ID,
        SANDBOX_TOKEN,
        SANDBOX_AES_KEY,
    )
    assert (s.wecom_bot_token, s.wecom_bot_aes_key) == (SANDBOX_BOT_TOKEN, SANDBOX_BOT_AES_KEY)
    assert s.database_url.startswith("sqlite:///") and s.database_url.endswith("orderdesk.db")
    assert s.redis_url == "" and s.timezone == "Asia/Shanghai"
    assert str(s.tz) == "Asia/Shanghai"
    assert s.wecom_api_base == "https://qyapi.weixin.qq.com/cgi-bin"
    assert s.storage_dir.endswith("storage")
    assert s.jobs_sync is False


def test_good_values_are_parsed() -> None:
    s = load_settings(
        {
            "TIMEZONE": "Europe/Berlin",
            "WECOM_API_BASE": "http://127.0.0.1:9999/cgi-bin/",
            "WECOM_ROLE_TAGS": "finance=财务, gm=总经理",
            "BUSINESS_HOURS": "08:30-18:00",
            "HOLIDAYS": "2027-01-01, 2027-02-06",
            "CORS_ORIGINS": "https://admin.example.com, http://localhost:5173",
            "JOBS_SYNC": "yes",
            "WEB_WORKERS": "4",
        }
    )
    assert s.wecom_api_base == "http://127.0.0.1:9999/cgi-bin"  # trailing slash dropped
    assert s.jobs_sync is True and s.web_workers == 4
    assert s.wecom_role_tags == "finance=财务, gm=总经理"


def test_data_paths_follow_the_working_directory_not_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings({})
    assert s.home == str(tmp_path.resolve())
    assert s.database_url == f"sqlite:///{tmp_path.resolve() / 'instance' / 'orderdesk.db'}"
    assert s.storage_dir == str(tmp_path.resolve() / "instance" / "storage")


def test_orderdesk_home_moves_the_data_paths(tmp_path: Path) -> None:
    home = tmp_path / "srv" / "orderdesk"
    s = load_settings({"ORDERDESK_HOME": str(home)})
    assert s.database_url == f"sqlite:///{home / 'instance' / 'orderdesk.db'}"
    assert s.storage_path == home / "instance" / "storage"
    # An explicit DATABASE_URL / STORAGE_DIR still wins.
    s = load_settings({"ORDERDESK_HOME": str(home), "STORAGE_DIR": str(tmp_path / "files")})
    assert s.storage_dir == str(tmp_path / "files")


def test_operations_settings_default_to_off() -> None:
    s = load_settings({})
    assert (s.log_format, s.metrics_allow, s.sentry_dsn) == ("text", "", "")
    s = load_settings({"LOG_FORMAT": "json", "METRICS_ALLOW": "10.0.0.0/8, 192.168.1.7"})
    assert s.log_format == "json" and s.metrics_allow == "10.0.0.0/8, 192.168.1.7"
    dsn = "https://abcdef0123456789@sentry.example.com/42"
    assert "abcdef0123456789" not in repr(load_settings({"SENTRY_DSN": dsn}))


def test_with_overrides_validates_again() -> None:
    s = load_settings({})
    with pytest.raises(SettingsError, match=r"^TIMEZONE:"):
        s.with_overrides(timezone="Nowhere/Land")


def test_dotenv_is_read_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("TIMEZONE", "WECOM_ROLE_TAGS", "DATABASE_URL"):
        monkeypatch.delenv(key, raising=False)
    (tmp_path / ".env").write_text(
        "TIMEZONE=Asia/Tokyo\nWECOM_ROLE_TAGS=finance=财务\nDATABASE_URL=sqlite:///x.db\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    s = load_settings()
    assert s.timezone == "Asia/Tokyo"
    assert s.wecom_role_tags == "finance=财务"
    assert s.database_url == "sqlite:///x.db"
    # The real environment wins over .env.
    monkeypatch.setenv("TIMEZONE", "UTC")
    assert load_settings().timezone == "UTC"


def test_without_dotenv_the_defaults_apply(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TIMEZONE", raising=False)
    monkeypatch.chdir(tmp_path)
    assert not (tmp_path / ".env").exists()
    assert load_settings().timezone == "Asia/Shanghai"


def test_a_bad_dotenv_value_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WECOM_AES_KEY", raising=False)
    (tmp_path / ".env").write_text("WECOM_AES_KEY=tooshort\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SettingsError, match=r"^WECOM_AES_KEY: must be 43 characters"):
        load_settings()


def test_secrets_are_masked_in_repr_str_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    s = load_settings(
        LIVE
        | {
            "WECOM_BOT_TOKEN": "botTokenSecret99",
            "WECOM_BOT_AES_KEY": "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210abcdefg",
            "DATABASE_URL": "postgresql+psycopg://app:db-password-77@db:5432/orderdesk",
            "REDIS_URL": "redis://:redis-password-88@cache:6379/0",
        }
    )
    secrets = [
        LIVE["WECOM_SECRET"],
        LIVE["WECOM_TOKEN"],
        LIVE["WECOM_AES_KEY"],
        LIVE["SECRET_KEY"],
        "botTokenSecret99",
        "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210abcdefg",
        "db-password-77",
        "redis-password-88",
    ]
    with caplog.at_level(logging.INFO):
        logging.getLogger("orderdesk.test").info("settings loaded: %s", s)
        logging.getLogger("orderdesk.test").info("settings: %r", s)
    for text in (repr(s), str(s), f"{s}", caplog.text):
        for secret in secrets:
            assert secret not in text
    assert "wecom_corp_id='ww0123456789abcdef'" in repr(s)  # not secret: still readable
    assert "db:5432/orderdesk" in repr(s)


def test_every_setting_is_documented_in_the_readme_and_env_example() -> None:
    from dataclasses import fields

    from orderdesk.settings import Settings, _env_name

    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text(encoding="utf-8")
    example = (root / ".env.example").read_text(encoding="utf-8")
    names = [_env_name(f.name) for f in fields(Settings) if f.name != "extra"]
    assert [n for n in names if f"| `{n}` |" not in readme] == []
    assert [n for n in names if f"\n{n}=" not in example and f"# {n}=" not in example] == []
