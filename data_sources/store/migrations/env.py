"""Alembic environment: run by data_sources.store.db.migrate(), or by `alembic -c data_sources/store/migrations/alembic.ini`."""

from typing import Any

from alembic import context
from sqlalchemy import create_engine

from data_sources.store.models import Base
from data_sources.store.partitions import include_object

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        from data_sources.config import Settings

        url = config.get_main_option("sqlalchemy.url") or Settings.from_env().sqlalchemy_url
        with create_engine(url).begin() as conn:
            _run(conn)
    else:
        _run(connection)


def _run(connection: Any) -> None:
    # batch mode: SQLite cannot ALTER most things, Alembic rebuilds the table instead, keeping the rows.
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        include_object=include_object,  # the month partitions of observations (PostgreSQL only)
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
