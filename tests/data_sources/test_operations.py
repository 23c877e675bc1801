"""Never lose a citizen's comment: acknowledged comments survive kill -9, retries add nothing, a full or read-only
disk gives a clear error without corruption, and a backup restores every comment."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select

from data_sources.comments.records import CommentInput, submit_comment
from data_sources.store.models import Comment
from data_sources.operations import STORE_ERRORS, backup, data_version, explain, restore, store_lock
from data_sources.store.db import make_engine, open_store
from tests.support import ROOT


def _say(engine, city, key: str, text: str = "Broken paving stones by the bus stop"):
    lat, lon = city.city.centre
    return submit_comment(engine, city, CommentInput(lat=lat, lon=lon, category="street", text=text, client_key=key))


def _keys(engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.scalars(select(Comment.client_key)).all())


def _writer(url: str, start: int, end: int) -> subprocess.Popen:
    """A process that submits comments k-<start>..k-<end-1> and prints each key once acknowledged."""
    return subprocess.Popen(
        [sys.executable, "-m", "bench.comment_writer", url, str(start), str(end)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


@pytest.mark.slow
def test_kill_9_mid_write_loses_no_acknowledged_comment_and_retries_add_nothing(any_url, any_engine):
    writers = [_writer(any_url, 0, 100_000), _writer(any_url, 500_000, 600_000)]  # two processes, one store
    acked: list[str] = []
    for w in writers:
        acked += [w.stdout.readline().strip() for _ in range(40)]
    for w in writers:
        os.kill(w.pid, signal.SIGKILL)  # mid-transaction, most likely
        acked += [line.strip() for line in w.stdout]  # acknowledged before the kill landed
        w.wait()
    engine = make_engine(any_url)  # "after restart": a fresh process would open the store like this
    stored = _keys(engine)
    assert len(stored) == len(set(stored))
    assert set(acked) <= set(stored)
    # Citizens whose submission got no answer retry with the same key: each comment ends up there exactly once.
    last = max(int(k[2:]) for k in stored if int(k[2:]) < 500_000)
    retry = _writer(any_url, 0, last + 3)
    retry.communicate(timeout=120)
    stored = _keys(engine)
    assert len(stored) == len(set(stored))
    assert {f"k-{i:07d}" for i in range(last + 3)} <= set(stored)
    engine.dispose()


def test_retry_with_the_same_key_returns_the_first_comment(any_engine, demo_city):
    first = _say(any_engine, demo_city, "retry-0001")
    again = _say(any_engine, demo_city, "retry-0001")
    assert again.id == first.id and again.duplicate_of_retry and _keys(any_engine) == ["retry-0001"]


def test_backup_and_restore_keep_every_comment(any_url, any_engine, demo_city, tmp_path):
    for i in range(5):
        _say(any_engine, demo_city, f"before-{i:04d}")
    dump = backup(any_engine, tmp_path / "backups" / "store.bak")
    _say(any_engine, demo_city, "after-0000")
    with any_engine.begin() as conn:
        conn.execute(delete(Comment).where(Comment.client_key == "before-0003"))  # an accident
    restore(any_engine, dump)
    assert _keys(any_engine) == [f"before-{i:04d}" for i in range(5)]
    _say(any_engine, demo_city, "after-0001")  # the restored store takes new comments
    assert len(_keys(any_engine)) == 6


def test_backup_and_restore_from_the_command_line(tmp_path, demo_city):
    url = f"sqlite:///{tmp_path / 'live.sqlite'}"
    engine = open_store(url)
    _say(engine, demo_city, "cli-0001")
    env = {
        "CITYDASH_DATABASE_URL": url,
        "CITYDASH_CITY": str(ROOT / "cities" / "demo.toml"),
        "CITYDASH_DATA_DIR": str(tmp_path),
    }
    from dashboard.cli import cli

    r = CliRunner().invoke(cli, ["backup", str(tmp_path / "b.sqlite")], env=env)
    assert r.exit_code == 0, r.output
    _say(engine, demo_city, "cli-0002")
    r = CliRunner().invoke(cli, ["restore", str(tmp_path / "b.sqlite")], env=env, input="n\n")
    assert r.exit_code != 0 and len(_keys(engine)) == 2  # asked, declined, nothing changed
    r = CliRunner().invoke(cli, ["restore", "--yes", str(tmp_path / "b.sqlite")], env=env)
    assert r.exit_code == 0, r.output
    assert _keys(engine) == ["cli-0001"]
    engine.dispose()


def test_restore_refuses_a_file_that_is_not_a_store(engine, tmp_path, demo_city):
    _say(engine, demo_city, "keep-0001")
    bad = tmp_path / "not-a-backup.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(Exception):
        restore(engine, bad)
    assert _keys(engine) == ["keep-0001"]


def test_data_version_changes_with_a_new_comment(any_engine, demo_city):
    before = data_version(any_engine)
    assert data_version(any_engine) == before
    _say(any_engine, demo_city, "version-0001")
    assert data_version(any_engine) != before


# --- full and read-only disks (a real tmpfs; we are root in CI) ---------------------------------------------


def _integrity(path: Path) -> str:
    with sqlite3.connect(path) as c:
        return c.execute("PRAGMA integrity_check").fetchone()[0]


def test_full_disk_is_a_clear_error_without_loss_or_corruption(tiny_fs, demo_city):
    mnt, remount = tiny_fs
    db = mnt / "store.sqlite"
    engine = open_store(f"sqlite:///{db}")
    acked, error = [], None
    for i in range(100_000):
        try:
            _say(engine, demo_city, f"full-{i:06d}", text=f"Comment {i} " + "about the noisy junction " * 40)
        except STORE_ERRORS as e:
            error = e
            break
        acked.append(f"full-{i:06d}")
    assert error is not None and "disk is full" in explain(engine, error)
    remount("size=16m")  # the operator frees space; no restart
    _say(engine, demo_city, "full-after")
    assert _keys(engine) == sorted([*acked, "full-after"])
    engine.dispose()
    assert _integrity(db) == "ok"


def test_read_only_disk_is_a_clear_error_without_loss_or_corruption(tiny_fs, demo_city):
    mnt, remount = tiny_fs
    remount("size=8m")  # room for the schema and its WAL: this test is about read-only, not about a full disk
    db = mnt / "store.sqlite"
    engine = open_store(f"sqlite:///{db}")
    _say(engine, demo_city, "readonly-0001")
    engine.dispose()  # the kernel refuses a read-only remount under open files; the app reconnects on demand
    remount("ro")
    with pytest.raises(STORE_ERRORS) as e:
        _say(engine, demo_city, "readonly-0002")
    assert "mounted read-only" in explain(engine, e.value)
    remount("rw")
    _say(engine, demo_city, "readonly-0003")
    assert _keys(engine) == ["readonly-0001", "readonly-0003"]
    engine.dispose()
    assert _integrity(db) == "ok"


# --- the refresh worker -------------------------------------------------------------------------------------


def test_parse_interval():
    from datetime import timedelta

    from data_sources.operations import parse_interval

    assert parse_interval("15m") == timedelta(minutes=15) and parse_interval("2d") == timedelta(days=2)
    for bad in ("15", "0m", "m", "1w", "-5m"):
        with pytest.raises(ValueError):
            parse_interval(bad)


def test_source_status_stale_after_three_of_its_own_intervals_and_failing_until_a_success(engine, demo_city):
    from datetime import datetime, timedelta

    from data_sources.config import SourceConfig
    from data_sources.operations import source_status
    from data_sources.store.db import record_failure, record_success, upsert_source

    now = datetime(2026, 11, 16, 12, 0)
    city = demo_city.model_copy(
        update={
            "sources": [
                SourceConfig(name="daily", kind="csv", title="Daily table", refresh="1d"),
                SourceConfig(name="quick", kind="csv", refresh="10m"),
                SourceConfig(name="never", kind="csv", title="Never ran"),
            ]
        }
    )
    daily, quick, unconfigured = (upsert_source(engine, n, "csv") for n in ("daily", "quick", "imported"))
    record_success(engine, daily, at=now - timedelta(days=2, hours=23))  # within 3 x 1 day
    record_success(engine, quick, at=now - timedelta(minutes=31))  # past 3 x 10 minutes
    record_success(engine, unconfigured, at=now - timedelta(hours=2))  # not in the TOML: 1 h assumed

    def status() -> dict:
        return {s.name: (s.stale, s.failing, s.behind) for s in source_status(engine, city, now)}

    assert status() == {
        "daily": (False, False, False),
        "quick": (True, False, True),
        "imported": (False, False, False),
        "never": (True, False, True),
    }
    assert {s.name: s.title for s in source_status(engine, city, now)}["never"] == "Never ran"
    record_failure(engine, daily, "HTTP 500", at=now - timedelta(minutes=5))
    assert status()["daily"] == (False, True, True)  # failing since its last success, though not yet old
    record_success(engine, daily, at=now)
    assert status()["daily"] == (False, False, False)


def test_only_sources_whose_interval_passed_are_due(engine, demo_city):
    from datetime import datetime, timedelta

    from data_sources.config import SourceConfig
    from data_sources.operations import due_sources
    from data_sources.store.db import record_failure, record_success, upsert_source

    from data_sources.ingest.connectors import connector_kinds

    k = connector_kinds()[0]  # any registered kind: nothing is fetched here
    city = demo_city.model_copy(
        update={
            "sources": [
                SourceConfig(name="hourly", kind=k, refresh="1h"),
                SourceConfig(name="quarter", kind=k, refresh="15m"),
                SourceConfig(name="never-run", kind=k, refresh="1d"),
                SourceConfig(name="off", kind=k, enabled=False),
            ]
        }
    )
    now = datetime(2026, 11, 16, 9, 0)
    record_success(engine, upsert_source(engine, "hourly", k), at=now - timedelta(minutes=20))
    record_failure(engine, upsert_source(engine, "quarter", k), "timeout", at=now - timedelta(minutes=20))
    assert [s.name for s in due_sources(engine, city, now)] == ["quarter", "never-run"]


def test_run_every_survives_a_failing_run_and_stops_on_request():
    import threading
    from datetime import timedelta

    from data_sources.operations import run_every

    stop, calls = threading.Event(), []

    def tick():
        calls.append(1)
        if len(calls) == 1:
            raise OSError("store unreachable")
        if len(calls) == 3:
            stop.set()

    assert run_every(timedelta(milliseconds=10), tick, stop) == 3


def test_refresh_worker_runs_until_sigterm(tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CITYDASH_DATA_DIR": str(tmp_path),
        "CITYDASH_DATABASE_URL": f"sqlite:///{tmp_path / 'w.sqlite'}",
        "CITYDASH_CITY": str(ROOT / "cities" / "demo.toml"),
    }
    p = subprocess.Popen(
        [sys.executable, "-m", "dashboard.cli", "refresh", "--every", "1s"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    first = p.stdout.readline()
    second = p.stdout.readline()  # a second run a second later: it keeps running
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    assert json.loads(first)["refreshed"] == [] and json.loads(second)["refreshed"] == []  # the demo has no sources due


def test_refresh_every_rejects_a_bad_duration(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CITYDASH_DATA_DIR": str(tmp_path)}
    r = subprocess.run(
        [sys.executable, "-m", "dashboard.cli", "refresh", "--every", "soon"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "--every" in r.stderr and "15m" in r.stderr


def test_a_backup_from_an_older_version_restores_and_upgrades(any_url, demo_city, tmp_path):
    """Upgrading keeps every comment: a store at the first schema revision, backed up and restored into the
    current version, comes back at the newest revision with its comments."""
    from alembic.script import ScriptDirectory

    from data_sources.store.db import alembic_config, current_revision, migrate

    old = make_engine(any_url)
    migrate(old, "0001")
    _say(old, demo_city, "old-version-0001")
    dump = backup(old, tmp_path / "old.backup")
    restore(old, dump)  # what `citydash restore` does after an upgrade of the code
    assert current_revision(old) == ScriptDirectory.from_config(alembic_config()).get_current_head() != "0001"
    assert _keys(old) == ["old-version-0001"]
    _say(old, demo_city, "new-version-0002")
    assert len(_keys(old)) == 2
    old.dispose()


def test_a_second_refresh_does_not_wait_for_the_first_it_skips(any_engine):
    """Two refresh workers over one store (two machines, or cron beside a worker): the second is told at once
    that the store's refresh lock is held, and the lock is free again when the first one ends."""
    with store_lock(any_engine, "refresh", wait=False) as first:
        with store_lock(any_engine, "refresh", wait=False) as second:
            assert (first, second) == (True, False)
        with store_lock(any_engine, "prepare", wait=False) as other:
            assert other  # locks are by name: start-up is not blocked by a refresh
    with store_lock(any_engine, "refresh", wait=False) as again:
        assert again
