from __future__ import annotations

from decimal import Decimal

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from orderdesk.migrations.run import check
from orderdesk.models import Customer, Staff
from orderdesk.runtime import Runtime
from orderdesk.settings import Settings, SettingsError, load_settings


def test_alembic_check_models_and_migrations_agree(rt: Runtime) -> None:
    # `alembic check` against the migrated test database (both backends).
    with rt.db.engine.connect() as conn:
        check(rt.settings.database_url, connection=conn)


def test_healthz_and_readyz(client: FlaskClient) -> None:
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json() == {"status": "ok"}


def test_readyz_names_the_failing_database(settings: Settings) -> None:
    from orderdesk.app import create_app
    from orderdesk.runtime import build_runtime

    broken = build_runtime(
        settings.with_overrides(database_url="postgresql+psycopg://postgres@127.0.0.1:1/none")
    )
    app = create_app(rt=broken)
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503
    assert "database" in resp.get_json()["failing"]


def test_money_round_trips_as_decimal(rt: Runtime) -> None:
    with rt.db.transaction() as s:
        staff = Staff(userid="zhangsan", name="张三", hourly_cost_rate=Decimal("123.45"))
        s.add(staff)
    with rt.db.transaction() as s:
        got = s.scalar(select(Staff).where(Staff.userid == "zhangsan"))
        assert got is not None
        assert got.hourly_cost_rate == Decimal("123.45")
        assert isinstance(got.hourly_cost_rate, Decimal)
        assert got.created_at.tzinfo is not None


def test_money_refuses_float(rt: Runtime) -> None:
    from sqlalchemy.exc import StatementError

    with pytest.raises(StatementError), rt.db.transaction() as s:
        s.add(Staff(userid="lisi", name="李四", hourly_cost_rate=12.5))


def test_unique_customer_name(rt: Runtime) -> None:
    with rt.db.transaction() as s:
        s.add(Customer(name="上海云启科技有限公司"))
    with pytest.raises(IntegrityError), rt.db.transaction() as s:
        s.add(Customer(name="上海云启科技有限公司"))


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"WECOM_AES_KEY": "short"}, "WECOM_AES_KEY: must be 43 characters"),
        ({"TIMEZONE": "Mars/Base"}, "TIMEZONE"),
        ({"WECOM_MODE": "prod"}, "WECOM_MODE"),
        ({"WECOM_AGENT_ID": "abc"}, "WECOM_AGENT_ID"),
        ({"WECOM_SECRET": "s3cret"}, "required when WECOM_MODE=live"),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], needle: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(env)
    assert needle in str(err.value)
    assert "\n" not in str(err.value)


def test_secrets_are_masked_in_repr() -> None:
    s = load_settings(
        {
            "WECOM_SECRET": "very-secret-value-123",
            "WECOM_CORP_ID": "ww123",
            "WECOM_TOKEN": "tok-live-12345",
            "WECOM_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
            "SECRET_KEY": "a-long-random-secret-key-0000",
            "DATABASE_URL": "postgresql+psycopg://app:pw123@db/orderdesk",
        }
    )
    text = repr(s)
    for secret in ("very-secret-value-123", "tok-live-12345", "pw123", "a-long-random-secret"):
        assert secret not in text
    assert s.wecom_mode == "live"
