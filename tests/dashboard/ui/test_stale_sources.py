"""Every source failing: the home KPI cards and the indicator pages keep the last good figures and say, in words,
since when they are not updated and which source is not answering (or has sent nothing new)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select, update

from dashboard.app import create_app
from dashboard.i18n import fmt_datetime, translator
from data_sources.config import SourceConfig
from data_sources.store.models import Source
from data_sources.refresh import refresh
from data_sources.store.db import record_success, utcnow
from tests.support import render_page
from tests.data_sources.conftest import FakeTransport

# The demo city's sources, configured as a city would: CSV tables on an open-data portal (never fetched for real).
SOURCES = {  # name -> (title, layer)
    "demo-air": ("City air sensors", "air_station"),
    "demo-traffic": ("Traffic counters", "traffic_counter"),
    "demo-cycling": ("Cycle network map", "cycle_route"),
    "demo-cycle-counts": ("Cycle counters", "cycle_counter"),
    "demo-bikeshare": ("Bike share operator", "bike_station"),
}
PORTAL = "https://opendata.example.org/"
GOOD_CSV = "id,name,lat,lon\nnew-1,A new point,48.50,9.00\n"  # features only: the figures stay as they were
NOTICE_END = "We show the last data we received."


def _session(answer) -> requests.Session:  # noqa: ANN001
    s = requests.Session()
    t = FakeTransport([(PORTAL, answer)])
    s.mount("https://", t)
    s.mount("http://", t)
    return s


def _failing(request):  # noqa: ANN001
    """Half the portal answers HTTP 500, the other half cannot be reached at all."""
    if "air" in request.url or "traffic" in request.url:
        return {"status": 500, "text": "Internal Server Error: db01.internal timed out"}
    return requests.ConnectionError("connection refused by 10.0.0.7")


@pytest.fixture
def city(demo_city):
    return demo_city.model_copy(
        update={
            "sources": [
                SourceConfig(
                    name=name,
                    kind="csv",
                    title=title,
                    layer=layer,
                    refresh="1h",
                    params={
                        "url": f"{PORTAL}{name}.csv",
                        "id_field": "id",
                        "name_field": "name",
                        "lat_field": "lat",
                        "lon_field": "lon",
                    },
                )
                for name, (title, layer) in SOURCES.items()
            ]
        }
    )


@pytest.fixture
def portal_app(city, settings, demo_engine):
    return create_app(city=city, settings=settings, engine=demo_engine)


def _find(node, cid):  # noqa: ANN001
    """The component with id ``cid`` in a rendered layout (JSON), or None."""
    if isinstance(node, list):
        return next((f for f in (_find(n, cid) for n in node) if f is not None), None)
    if isinstance(node, dict):
        props = node.get("props", {})
        if props.get("id") == cid:
            return node
        return _find(props.get("children"), cid)
    return None


def _text(node) -> str:  # noqa: ANN001
    if isinstance(node, str):
        return node
    if isinstance(node, list):
        return "".join(_text(n) for n in node)
    if isinstance(node, dict):
        return _text(node.get("props", {}).get("children"))
    return ""


def _notices(node) -> list[str]:  # noqa: ANN001
    if isinstance(node, list):
        return [t for n in node for t in _notices(n)]
    if isinstance(node, dict):
        props = node.get("props", {})
        if "stale-notice" in str(props.get("className", "")):
            return [_text(node)]
        return _notices(props.get("children"))
    return []


def _render(app, client, path: str, search: str = ""):  # noqa: ANN001
    # Public pages are kept per worker for MAX_LAG seconds; each step of these tests is a later visit.
    pages = app.server.extensions["citydash"].shared_pages
    assert pages is not None
    pages[0].clear()
    return render_page(client, path, search)


def _since(engine, name: str, lang: str = "en") -> str:  # noqa: ANN001
    with engine.connect() as conn:
        at = conn.scalar(select(Source.last_success_at).where(Source.name == name))
    return fmt_datetime(at, lang, "Europe/Berlin")


def test_every_source_failing_keeps_the_last_figures_and_says_so_until_a_refresh_succeeds(portal_app):
    engine = portal_app.server.extensions["citydash"].engine
    client = portal_app.server.test_client()
    assert refresh(engine, portal_app.server.extensions["citydash"].city, _session({"text": GOOD_CSV})).ok
    home = _render(portal_app, client, "/")
    air = _render(portal_app, client, "/air")
    assert _notices(home) == [] and _notices(air) == []
    cards = {k: _text(_find(home, f"kpi-{k}")) for k in ("air", "traffic", "cycling")}
    air_summary = _text(_find(air, "air-summary"))
    assert "µg/m³" in cards["air"] and "vehicles/h" in cards["traffic"] and "averaged" in air_summary

    report = refresh(engine, portal_app.server.extensions["citydash"].city, _session(_failing))
    assert not report.ok and all(not r.ok for r in report.runs)

    home = _render(portal_app, client, "/")
    for k, card in cards.items():  # the last good figures are all still there ...
        now = _find(home, f"kpi-{k}")
        assert _text(now).replace(_notices(now)[0], "") == card
    air_card = _find(home, "kpi-air")
    assert "kpi-stale" in air_card["props"]["className"]
    # ... and each card says in words since when, and which of its sources is not answering.
    assert _notices(air_card) == [
        f"Not updated since {_since(engine, 'demo-air')}. The source (City air sensors) is not answering. {NOTICE_END}"
    ]
    assert "The source (Traffic counters) is not answering." in _notices(_find(home, "kpi-traffic"))[0]
    cycling = _notices(_find(home, "kpi-cycling"))[0]
    assert "The sources (" in cycling and all(
        t in cycling for t in ("Cycle network map", "Cycle counters", "Bike share operator")
    )
    assert _notices(_find(home, "kpi-participation")) == []  # comments come from this site, not from a source
    page = json.dumps(home)
    assert "500" not in page and "db01" not in page and "10.0.0.7" not in page  # no error text for citizens

    air = _render(portal_app, client, "/air")
    assert _text(_find(air, "air-summary")) == air_summary
    assert len(_notices(air)) == 1 and "The source (City air sensors) is not answering." in _notices(air)[0]
    cycling_page = _notices(_render(portal_app, client, "/cycling"))
    assert len(cycling_page) == 1 and "Cycle counters" in cycling_page[0] and "Cycle network map" not in cycling_page[0]

    assert refresh(engine, portal_app.server.extensions["citydash"].city, _session({"text": GOOD_CSV})).ok
    assert _notices(_render(portal_app, client, "/")) == []
    assert _notices(_render(portal_app, client, "/air")) == []
    assert client.get("/healthz").get_json()["status"] == "ok"


def test_a_source_that_is_simply_old_is_marked_without_any_error(app, client):
    engine = app.server.extensions["citydash"].engine
    with engine.connect() as conn:
        traffic = conn.scalar(select(Source.id).where(Source.name == "demo-traffic"))
    # The demo city configures no refresh: one hour is assumed, so three hours without news is stale...
    record_success(engine, traffic, at=utcnow() - timedelta(hours=3, minutes=5))
    # ...except for the demo snapshot itself, which never refreshes.
    assert _notices(_render(app, client, "/")) == []
    with engine.begin() as conn:  # the same source, now one the city refreshes
        conn.execute(update(Source).where(Source.id == traffic).values(kind="csv"))
    home = _render(app, client, "/")
    assert _notices(_find(home, "kpi-air")) == [] and _notices(_find(home, "kpi-cycling")) == []
    assert _notices(_find(home, "kpi-traffic")) == [
        f"Not updated since {_since(engine, 'demo-traffic')}. The source (Traffic counts (demo)) has sent no new data. "
        f"{NOTICE_END}"
    ]
    assert "vehicles/h" in _text(_find(home, "kpi-traffic"))
    assert len(_notices(_render(app, client, "/traffic"))) == 1 and _notices(_render(app, client, "/air")) == []

    _ = translator("es")
    es = _notices(_find(_render(app, client, "/", "?lang=es"), "kpi-traffic"))
    assert es == [
        f"{_('Not updated since {time}.', time=_since(engine, 'demo-traffic', 'es'))} "
        f"{_('The source ({source}) has sent no new data.', source='Traffic counts (demo)')} {_(NOTICE_END)}"
    ]
    assert es[0].startswith("Sin actualizar desde")

    record_success(engine, traffic, at=utcnow() - timedelta(hours=2, minutes=55))  # within the limit again
    assert _notices(_render(app, client, "/")) == []
