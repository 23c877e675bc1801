"""Officials' accounts, the data side: passwords are argon2 hashes, a login needs an active account and its
password, and every change that should log an official out moves the session epoch."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from data_sources.comments import accounts
from data_sources.comments.workflow import WorkflowError
from data_sources.store.models import Official

PASSWORD = "correct horse battery"


def test_a_password_is_stored_as_an_argon2_hash_and_only_it_verifies() -> None:
    h = accounts.hash_password(PASSWORD)
    assert h.startswith("$argon2") and PASSWORD not in h
    assert accounts.verify_password(h, PASSWORD)
    assert not accounts.verify_password(h, PASSWORD + "!")
    assert not accounts.verify_password("not a hash", PASSWORD)


def test_a_login_needs_an_active_account_and_its_password(engine: Engine) -> None:
    oid = accounts.create_official(engine, "Ann@City.Example", accounts.hash_password(PASSWORD), "official", "Parks")
    rec = accounts.check_login(engine, "ann@city.example", PASSWORD)
    assert rec is not None and (rec.id, rec.role) == (oid, "official")
    assert accounts.active_official(engine, oid) == rec
    assert accounts.check_login(engine, "ann@city.example", "wrong password") is None
    assert accounts.check_login(engine, "nobody@city.example", PASSWORD) is None
    accounts.disable_official(engine, "ann@city.example")
    assert accounts.check_login(engine, "ann@city.example", PASSWORD) is None
    assert accounts.active_official(engine, oid) is None
    with pytest.raises(WorkflowError):
        accounts.official_actor(engine, "ann@city.example")


def test_reset_logout_and_disabling_each_move_the_session_epoch(engine: Engine) -> None:
    def epoch() -> int:
        with engine.connect() as conn:
            return int(conn.scalar(select(Official.session_epoch).where(Official.id == oid)))

    oid = accounts.create_official(engine, "bo@city.example", accounts.hash_password(PASSWORD), "moderator", None)
    first = epoch()
    accounts.end_sessions(engine, oid)
    assert epoch() == first + 1
    accounts.create_official(engine, "bo@city.example", accounts.hash_password(PASSWORD), "admin", None)
    assert epoch() == first + 2
    accounts.disable_official(engine, "bo@city.example")
    assert epoch() == first + 3


def test_the_web_side_keeps_no_copy_of_the_account_functions() -> None:
    from dashboard.server import auth
    from data_sources.comments import workflow

    moved = ("hash_password", "verify_password", "MIN_PASSWORD", "create_official", "disable_official")
    assert not [name for name in moved if hasattr(auth, name) or hasattr(workflow, name)]
    assert not hasattr(workflow, "end_sessions") and not hasattr(workflow, "official_actor")
