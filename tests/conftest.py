"""Shared fixtures (helpers that tests import are in tests/support.py): stores (SQLite always, PostgreSQL when a server is configured), the demo city, the app, a
live server on loopback and a real headless Chromium.

PostgreSQL: set CITYDASH_TEST_POSTGRES_URL (e.g. postgresql+psycopg://postgres@127.0.0.1/postgres); each test
that uses ``any_engine`` then runs on both stores, each PostgreSQL test in a fresh database. `.ci/run` starts a
server and sets it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from data_sources.config import CityConfig, Settings, load_city
from data_sources.store.db import make_engine, migrate, open_store
from tests.support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DEMO_END,
    PG_URL,
    REDIS_URL,
    ROOT,
    free_port,
    new_tab,
)


@pytest.fixture(scope="session")
def demo_city() -> CityConfig:
    return load_city(ROOT / "cities" / "demo.toml")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.sqlite'}"


@pytest.fixture
def engine(sqlite_url: str):
    """An empty, migrated SQLite store."""
    eng = open_store(sqlite_url)
    yield eng
    eng.dispose()


def _pg_database():
    """A fresh PostgreSQL database; yields its URL and drops it afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"citydash_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_url(request, sqlite_url: str):
    """The URL of an empty store, once for SQLite and once for PostgreSQL."""
    if request.param == "sqlite":
        yield sqlite_url
        return
    if not PG_URL:
        pytest.skip("CITYDASH_TEST_POSTGRES_URL not set")
    yield from _pg_database()


@pytest.fixture
def redis_url() -> str:
    """A Redis database flushed for this test (CITYDASH_TEST_REDIS_URL); skips locally without one, fails in CI."""
    if not REDIS_URL:
        if os.environ.get("CI"):
            pytest.fail("CITYDASH_TEST_REDIS_URL is not set: .ci/run must start redis-server")
        pytest.skip("CITYDASH_TEST_REDIS_URL not set")
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield REDIS_URL
    client.flushdb()
    client.close()


@pytest.fixture
def tiny_fs(tmp_path):
    """A 1 MiB tmpfs, remountable read-only or larger: a real full or read-only disk for SQLite."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if r.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"cannot mount a tmpfs in CI: {r.stderr.strip()}")
        pytest.skip(f"cannot mount a tmpfs (needs root): {r.stderr.strip()}")

    def remount(opts: str) -> None:
        subprocess.run(["mount", "-o", f"remount,{opts}", str(mnt)], check=True)

    yield mnt, remount
    subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.fixture
def any_engine(any_url: str):
    eng = open_store(any_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def demo_store_file(tmp_path_factory, demo_city: CityConfig) -> Path:
    """The demo city loaded once per session (seed 42, 2,000 comments, 30 days ending DEMO_END)."""
    from data_sources.demo import load_demo

    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    eng = open_store(f"sqlite:///{path}")
    load_demo(eng, demo_city, seed=42, n_comments=2000, days=30, end=DEMO_END)
    with eng.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    eng.dispose()
    return path


@pytest.fixture
def demo_engine(demo_store_file: Path, tmp_path: Path):
    """A private copy of the demo store: tests may write to it."""
    dst = tmp_path / "demo.sqlite"
    shutil.copy(demo_store_file, dst)
    eng = make_engine(f"sqlite:///{dst}")
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env({"CITYDASH_DATA_DIR": str(tmp_path), "CITYDASH_SECRET_KEY": "test-secret"})


@pytest.fixture
def app(demo_city, settings, demo_engine):
    """The demo app, its figures judged at DEMO_END (the demo's readings are current then)."""
    from dashboard.app import create_app
    from dashboard.context import get_context

    dash_app = create_app(city=demo_city, settings=settings, engine=demo_engine)
    get_context(dash_app.server).clock = lambda: DEMO_END
    return dash_app


@pytest.fixture
def client(app):
    return app.server.test_client()


@pytest.fixture(scope="session")
def s3_endpoint():
    """An S3-compatible object store on loopback (moto's server), for the photo storage tests."""
    server_mod = pytest.importorskip("moto.server")
    port = free_port()
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def live_server(app):
    """The app served by a real WSGI server on loopback, in a thread."""
    from werkzeug.serving import make_server

    port = free_port()
    srv = make_server("127.0.0.1", port, app.server, threaded=True)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{port}"
    srv.shutdown()


@pytest.fixture(scope="session")
def browser():
    pw_mod = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run must apt-get install chromium")
        pytest.skip("chromium not installed")
    pw = pw_mod.sync_playwright().start()
    b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield b
    b.close()
    pw.stop()


@pytest.fixture
def page(browser):
    """A fresh browser tab (desktop size) that records console errors and page errors in ``page.errors``."""
    p = new_tab(browser, viewport={"width": 1280, "height": 900})
    yield p
    p.context.close()


if TYPE_CHECKING:
    from aiosmtpd.smtp import Envelope


class SmtpInbox:
    """What a real SMTP server on loopback (aiosmtpd) received. ``mode``: "accept", "refuse" (451 to every
    recipient) or "hang" (take the message, signal ``received``, answer only after ``hang_seconds``)."""

    def __init__(self) -> None:
        self.messages: list = []
        self.raw: list[bytes] = []
        self.mode = "accept"
        self.hang_seconds = 30.0
        self.received = threading.Event()

    async def handle_RCPT(
        self,
        server: object,
        session: object,
        envelope: Envelope,
        address: str,  # aiosmtpd's hook names
        rcpt_options: list[str],
    ) -> str:
        if self.mode == "refuse":
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: object, session: object, envelope: Envelope) -> str:
        import asyncio
        import email
        from email.policy import default

        self.raw.append(envelope.content)
        self.messages.append(email.message_from_bytes(envelope.content, policy=default))
        self.received.set()
        if self.mode == "hang":
            await asyncio.sleep(self.hang_seconds)
        return "250 Message accepted"

    def to(self, address: str) -> list:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp_server():
    """A real SMTP server on 127.0.0.1; yields (inbox, smtp_url)."""
    pytest.importorskip("aiosmtpd")
    from aiosmtpd.controller import Controller

    inbox = SmtpInbox()
    port = free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    yield inbox, f"smtp://127.0.0.1:{port}"
    ctl.stop()
