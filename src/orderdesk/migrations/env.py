from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from orderdesk import models  # noqa: F401  (registers every table on Base.metadata)
from orderdesk.db import make_engine
from orderdesk.models.base import Base

config = context.config
target_metadata = Base.metadata


def _include(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    # Trigram indexes (pg_trgm) exist on PostgreSQL only and are made by migrations alone
    # (20261129_loop): the models declare none, so the comparison leaves them out.
    return not (type_ == "index" and reflected and (name or "").endswith("_trgm"))


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=_include,
        # New revisions name our column types from migrations/types.py, never from the live
        # models (an old revision must keep working after the models change).
        user_module_prefix="mtypes.",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
