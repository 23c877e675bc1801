"""Integrators' API keys: shown once, stored as a hash, revocable."""

import hashlib

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from data_sources.comments.api_keys import ApiKeyError, api_key_name, create_api_key, revoke_api_key
from data_sources.store.models import ApiKey


def test_key_is_stored_only_as_its_hash(any_engine):
    engine = any_engine
    token = create_api_key(engine, "fixmystreet")
    with engine.connect() as conn:
        (row,) = conn.execute(select(ApiKey)).all()
    assert row.key_hash == hashlib.sha256(token.encode()).hexdigest() and token not in row.key_hash
    assert len(token) >= 40
    assert api_key_name(engine, token) == "fixmystreet"
    assert api_key_name(engine, token + "x") is None and api_key_name(engine, "") is None


def test_names_are_unique_and_checked(engine):
    create_api_key(engine, "app-1")
    with pytest.raises(ApiKeyError, match="exists"):
        create_api_key(engine, "app-1")
    with pytest.raises(ApiKeyError):
        create_api_key(engine, "bad name with spaces")


def test_revoked_key_stops_working(engine):
    token = create_api_key(engine, "old-app")
    assert revoke_api_key(engine, "old-app")
    assert api_key_name(engine, token) is None
    assert not revoke_api_key(engine, "never-existed")


def test_cli_prints_the_key_once(tmp_path):
    from dashboard.cli import cli
    from data_sources.store.db import open_store

    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    r = CliRunner().invoke(cli, ["create-api-key", "partner"], env={"CITYDASH_DATABASE_URL": url})
    assert r.exit_code == 0, r.output
    token = r.output.strip()
    assert api_key_name(open_store(url), token) == "partner"
    again = CliRunner().invoke(cli, ["create-api-key", "partner"], env={"CITYDASH_DATABASE_URL": url})
    assert again.exit_code == 2 and "exists" in again.output
