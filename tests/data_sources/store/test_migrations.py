"""Upgrades never lose data: the schema comes only from Alembic migrations, and they match the models."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from data_sources.store.models import Base
from data_sources.store.db import current_revision, make_engine, migrate


def test_empty_database_upgrades_to_head_and_matches_models(any_url):
    eng = make_engine(any_url)
    assert current_revision(eng) is None
    migrate(eng)
    from alembic.script import ScriptDirectory

    from data_sources.store.db import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert current_revision(eng) == head
    tables = set(inspect(eng).get_table_names())
    assert {"sources", "features", "observations", "districts", "comments", "comment_events", "officials", "audit_log"} <= tables
    with eng.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
    assert diff == [], f"models and migrations differ; add a migration: {diff}"
    migrate(eng)  # a second start is a no-op
    eng.dispose()


def test_upgrade_keeps_rows(engine):
    from data_sources.store.db import upsert_source

    upsert_source(engine, "kept", "csv")
    migrate(engine)
    with engine.connect() as c:
        assert c.exec_driver_sql("select name from sources").scalar() == "kept"
