"""/healthz, one JSON log line per request, and a clear 503 while the store is unreachable, with recovery and no
restart."""

import io
import json
import logging
import uuid

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from dashboard.server import cache, health
from dashboard.app import create_app
from data_sources.store.models import Source
from data_sources.store.db import record_failure
from tests.support import PG_URL, dash_update, render_page

ROUTE = [{"id": "url", "property": "pathname", "value": "/"}, {"id": "url", "property": "search", "value": ""}]


def _no_demo(city):
    return city.model_copy(update={"city": city.city.model_copy(update={"demo": False})})


def test_healthz_reports_store_schema_and_sources(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    body = r.get_json()
    assert body["status"] == "ok"
    assert body["store"]["reachable"] and body["store"]["revision"] == body["store"]["expected_revision"]
    assert body["sources"] and all(s["age_seconds"] is not None and not s["stale"] for s in body["sources"])


def test_every_source_failing_serves_last_good_data_marked_degraded(app, client):
    ctx = app.server.extensions["citydash"]
    with ctx.engine.connect() as conn:
        ids = conn.scalars(select(Source.id)).all()
    for sid in ids:
        record_failure(ctx.engine, sid, "upstream said 502")
    body = client.get("/healthz").get_json()
    assert body["status"] == "degraded"
    assert all(s["failing"] for s in body["sources"])
    assert "502" not in json.dumps(body)  # error messages stay in the store, not on a public endpoint
    page = json.dumps(render_page(client, "/"), ensure_ascii=False)
    assert "µg/m³" in page  # the last good readings are still shown


def test_one_json_log_line_per_request(client):
    buf = io.StringIO()
    h = logging.StreamHandler(buf)
    h.setFormatter(health.json_formatter())
    logging.getLogger("citydash.request").addHandler(h)
    try:
        client.get("/healthz?email=someone@example.org")
        dash_update(client, "page.children", ROUTE)
    finally:
        logging.getLogger("citydash.request").removeHandler(h)
    lines = [json.loads(line) for line in buf.getvalue().splitlines()]
    assert [(x["method"], x["path"], x["status"]) for x in lines] == [
        ("GET", "/healthz", 200),
        ("POST", "/_dash-update-component", 200),
    ]
    assert all(x["duration_ms"] >= 0 and x["level"] == "INFO" for x in lines)
    assert "example.org" not in buf.getvalue()  # query strings (they may carry personal data) are not logged


def test_sqlite_store_missing_at_start_serves_503_then_recovers(demo_city, settings, tmp_path, monkeypatch):
    monkeypatch.setattr(health, "RETRY_SECONDS", 0)
    db = tmp_path / "store.sqlite"
    db.mkdir()  # a directory where the database file should be: SQLite cannot open it
    s = settings.model_copy(update={"database_url": f"sqlite:///{db}"})
    app = create_app(city=_no_demo(demo_city), settings=s)  # starts: no crash loop
    c = app.server.test_client()
    r = c.get("/")
    assert r.status_code == 503 and r.headers["Retry-After"] == health.RETRY_AFTER
    assert b"temporarily unavailable" in r.data and b"Traceback" not in r.data
    assert c.get("/healthz").status_code == 503
    db.rmdir()  # the store is back
    assert c.get("/").status_code == 200
    assert c.get("/healthz").get_json()["store"]["reachable"]
    assert dash_update(c, "page.children", ROUTE).status_code == 200


@pytest.fixture
def pg_db():
    """A fresh PostgreSQL database that a test can cut off (no new connections, existing ones killed)."""
    if not PG_URL:
        pytest.skip("CITYDASH_TEST_POSTGRES_URL not set")
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"citydash_test_{uuid.uuid4().hex[:12]}"
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)

    def cut(off: bool) -> None:
        with admin.connect() as c:
            c.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {"false" if off else "true"}'))
            if off:
                c.execute(
                    text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name}
                )

    def create() -> None:
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))

    yield url, create, cut
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.mark.postgres
def test_postgres_going_away_gives_503_and_comes_back_by_itself(demo_city, settings, pg_db, monkeypatch):
    url, create, cut = pg_db
    create()
    app = create_app(city=_no_demo(demo_city), settings=settings.model_copy(update={"database_url": url}))
    c = app.server.test_client()
    assert dash_update(c, "page.children", ROUTE).status_code == 200
    cut(True)
    r = c.get("/")
    assert r.status_code == 503 and b"temporarily unavailable" in r.data
    # A public page built less than MAX_LAG seconds ago is still served from the worker's copy; after that, 503.
    assert dash_update(c, "page.children", ROUTE).status_code == 200
    later = cache._now() + cache.MAX_LAG + 1
    monkeypatch.setattr(cache, "_now", lambda: later)
    r = dash_update(c, "page.children", ROUTE)
    assert r.status_code == 503 and r.get_json()["error"] == "temporarily_unavailable"
    assert r.headers["Retry-After"] == health.RETRY_AFTER
    assert c.get("/healthz").get_json() == {"status": "unavailable", "city": "demo", "store": {"reachable": False}}
    # A citizen presses Send meanwhile: a clear answer the page shows, and the page keeps the draft and its key.
    draft = {
        "pin": {"lat": 48.5, "lon": 9.0},
        "category": "traffic",
        "text": "Sent while the store was down.",
        "client_key": "sent-while-down-01",
        "lang": "en",
    }
    r = c.post("/report/send", json=draft)
    assert r.status_code == 503 and "temporarily unavailable" in r.get_json()["message"]
    cut(False)
    assert dash_update(c, "page.children", ROUTE).status_code == 200  # same app, same pool: no restart
    assert c.get("/healthz").status_code == 200
    assert c.post("/report/send", json=draft).get_json()["ok"] is True  # Send again: stored now


@pytest.mark.postgres
def test_a_postgres_restart_while_idle_costs_no_request_and_under_use_at_most_one(demo_city, settings, pg_db):
    import time

    from data_sources.store import db as store

    url, create, cut = pg_db
    create()
    app = create_app(city=_no_demo(demo_city), settings=settings.model_copy(update={"database_url": url}))
    c = app.server.test_client()
    assert c.get("/healthz").status_code == 200
    cut(True)  # every connection in the pool is now dead, as after a server restart
    cut(False)
    time.sleep(store.PING_IDLE_S + 0.1)  # idle connections are checked before they are handed out
    assert c.get("/healthz").status_code == 200
    assert c.get("/api/v1/sources").status_code == 200
    # Under steady use (no idle second), the one request that meets a dead connection answers 503; the pool is
    # then replaced, and the next request is served.
    cut(True)
    cut(False)
    codes = [c.get("/api/v1/sources").status_code for _ in range(2)]
    assert codes == [503, 200]


@pytest.mark.postgres
def test_postgres_down_at_start_migrates_when_it_appears(demo_city, settings, pg_db, monkeypatch):
    monkeypatch.setattr(health, "RETRY_SECONDS", 0)
    url, create, _cut = pg_db
    app = create_app(city=_no_demo(demo_city), settings=settings.model_copy(update={"database_url": url}))
    c = app.server.test_client()
    assert c.get("/").status_code == 503
    create()
    assert c.get("/").status_code == 200
    body = c.get("/healthz").get_json()
    assert body["status"] == "ok" and body["store"]["revision"] == body["store"]["expected_revision"]


@pytest.mark.parametrize("lang", ["es", "nl", "pt"])
def test_unavailable_page_is_translated(lang):
    import ast
    import string
    from pathlib import Path

    from dashboard.i18n import catalogue

    tree = ast.parse(Path(health.__file__).read_text())
    ids = {
        n.args[0].value
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Name)
        and n.func.id == "_"
        and n.args
        and isinstance(n.args[0], ast.Constant)
    }
    assert len(ids) == 3
    cat = catalogue(lang)
    for msg in ids:
        assert cat.get(msg) and cat[msg] != msg, msg
        fields = {f for _, f, _, _ in string.Formatter().parse(msg) if f}
        assert fields == {f for _, f, _, _ in string.Formatter().parse(cat[msg]) if f}


def test_unavailable_page_speaks_the_citizens_language(demo_city, settings, tmp_path):
    db = tmp_path / "gone.sqlite"
    db.mkdir()
    app = create_app(city=_no_demo(demo_city), settings=settings.model_copy(update={"database_url": f"sqlite:///{db}"}))
    r = app.server.test_client().get("/", headers={"Accept-Language": "nl-NL,nl;q=0.9"})
    assert r.status_code == 503 and "tijdelijk niet beschikbaar" in r.get_data(as_text=True)


def test_read_only_disk_at_start_serves_503_then_recovers(demo_city, settings, tiny_fs, monkeypatch):
    from data_sources.store.db import open_store

    monkeypatch.setattr(health, "RETRY_SECONDS", 0)
    mnt, remount = tiny_fs
    url = f"sqlite:///{mnt / 'store.sqlite'}"
    open_store(url).dispose()
    remount("ro")
    app = create_app(city=_no_demo(demo_city), settings=settings.model_copy(update={"database_url": url}))
    c = app.server.test_client()  # started: gunicorn would not crash-loop
    assert c.get("/").status_code == 503 and c.get("/healthz").status_code == 503
    remount("rw")
    assert c.get("/").status_code == 200 and c.get("/healthz").get_json()["status"] == "ok"
    app.server.extensions["citydash"].engine.dispose()


def test_a_configured_source_that_never_ran_is_stale(demo_city, settings, demo_engine):
    from data_sources.ingest.connectors import connector_kinds
    from data_sources.config import SourceConfig

    city = demo_city.model_copy(update={"sources": [SourceConfig(name="city-air", kind=connector_kinds()[0])]})
    c = create_app(city=city, settings=settings, engine=demo_engine).server.test_client()
    body = c.get("/healthz").get_json()
    never = [s for s in body["sources"] if s["name"] == "city-air"]
    assert never == [
        {"name": "city-air", "last_success_at": None, "age_seconds": None, "stale": True, "failing": False}
    ]
    assert body["status"] == "degraded"
