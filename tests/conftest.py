"""Shared fixtures: stores (SQLite always, PostgreSQL when a server is configured), the demo city, the app, a
live server on loopback and a real headless Chromium.

PostgreSQL: set CITYDASH_TEST_POSTGRES_URL (e.g. postgresql+psycopg://postgres@127.0.0.1/postgres); each test
that uses ``any_engine`` then runs on both stores, each PostgreSQL test in a fresh database. `.ci/run` starts a
server and sets it.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import uuid
from datetime import datetime
from pathlib import Path

import pytest

from data_sources.config import CityConfig, Settings, load_city
from data_sources.store.db import make_engine, migrate, open_store

ROOT = Path(__file__).resolve().parent.parent
# The real payloads live beside the project, never inside it; CITYDASH_REALDATA points elsewhere (a worktree).
REALDATA = Path(os.environ.get("CITYDASH_REALDATA") or ROOT.parent / "shared" / "realdata")
# Fixed "now" for the demo city in tests: every figure is reproducible.
DEMO_END = datetime(2026, 11, 16, 9, 0)  # a Monday, 09:00 UTC (morning peak)
PG_URL = os.environ.get("CITYDASH_TEST_POSTGRES_URL", "")
REDIS_URL = os.environ.get("CITYDASH_TEST_REDIS_URL", "")


def realdata(*parts: str) -> Path:
    """A file under ../shared/realdata, or skip the test when that folder is absent."""
    p = REALDATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"real payload not available: {p}")
    return p


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
    from dashboard.app import create_app

    return create_app(city=demo_city, settings=settings, engine=demo_engine)


@pytest.fixture
def client(app):
    return app.server.test_client()


def dash_update(client, output: str, inputs: list[dict], state: list[dict] | None = None, changed: list[str] | None = None,
                headers: dict | None = None):
    """POST to /_dash-update-component as the browser does. ``output`` like 'page.children' or '..a.x...b.y..'."""
    body = {
        "output": output,
        "outputs": _outputs(output),
        "inputs": inputs,
        "state": state or [],
        "changedPropIds": changed if changed is not None else [f"{i['id']}.{i['property']}" for i in inputs],
    }
    return client.post("/_dash-update-component", data=json.dumps(body), content_type="application/json",
                       headers=headers or {})


def _outputs(output: str):
    if output.startswith(".."):
        parts = [p for p in output.strip(".").split("...") if p]
        return [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1]} for p in parts]
    cid, prop = output.rsplit(".", 1)
    return {"id": cid, "property": prop}


def render_page(client, path: str, search: str = "", headers: dict | None = None) -> dict:
    """The page layout the router returns for ``path``, as JSON."""
    r = dash_update(client, "page.children",
                    [{"id": "url", "property": "pathname", "value": path}, {"id": "url", "property": "search", "value": search}],
                    headers=headers)
    assert r.status_code == 200, r.data[:500]
    return r.get_json()["response"]["page"]["children"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--use-gl=swiftshader", "--enable-unsafe-swiftshader"]


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


def new_tab(browser, bypass_csp: bool = True, **context_options):
    """A tab in a fresh browser context that records console errors and page errors in ``tab.errors``.

    Tests probe pages with strings of JavaScript (``wait_for_function``, injected axe-core), which the app's
    Content Security Policy rightly forbids, so test tabs bypass it; tests/dashboard/server/test_security.py opens
    pages with ``bypass_csp=False``, as a citizen's browser does."""
    ctx = browser.new_context(bypass_csp=bypass_csp, **context_options)
    p = ctx.new_page()
    p.errors = []
    p.on("console", lambda m: p.errors.append(m.text) if m.type == "error" else None)
    p.on("pageerror", lambda e: p.errors.append(str(e)))
    return p


@pytest.fixture
def page(browser):
    """A fresh browser tab (desktop size) that records console errors and page errors in ``page.errors``."""
    p = new_tab(browser, viewport={"width": 1280, "height": 900})
    yield p
    p.context.close()
