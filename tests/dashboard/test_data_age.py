"""Two clocks (issue 21, item 1): every figure carries ``as_of`` (its newest reading) and ``stale`` (older than its
sources' freshness window); old figures say "Latest reading: <date>", localised, and never "now" or "today"."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from data_sources.store import queries
from dashboard.http.api import kpis as api_kpis
from dashboard.context import get_context
from dashboard.ui.components import kpi_card
from dashboard.ui.kpis import Kpi, with_staleness
from dashboard.pages.home import detail
from data_sources.config import CityConfig
from data_sources.operations import freshness_window, is_stale, window_of
from tests.support import DEMO_END, render_page
from tests.dashboard.pages.test_home import _find, _text

NOW = datetime(2026, 11, 29, 12)


def _city(**source) -> CityConfig:
    return CityConfig.model_validate(
        {"city": {"name": "T", "slug": "t", "centre": [0, 0]}, "sources": [{"name": "s", "kind": "csv", **source}]}
    )


def test_the_freshness_window_comes_from_the_source():
    assert freshness_window(_city(refresh="15m").sources[0]) == timedelta(minutes=45)  # three refresh intervals
    assert freshness_window(_city(refresh="15m", stale_after="2d").sources[0]) == timedelta(days=2)
    assert freshness_window(None) == timedelta(hours=3)  # the demo, a one-off import
    assert window_of(_city(refresh="1d"), {"s", "unconfigured"}) == timedelta(days=3)  # the slowest source's
    assert is_stale(NOW - timedelta(hours=4), timedelta(hours=3), NOW)
    assert not is_stale(NOW - timedelta(hours=2), timedelta(hours=3), NOW) and not is_stale(None, timedelta(0), NOW)


def test_staleness_is_judged_per_figure_and_sub_figure():
    old, fresh = datetime(2023, 3, 14, 9), NOW - timedelta(minutes=10)
    values = {
        "air": Kpi("air", 12.0, "µg/m³", updated=old),
        "traffic": Kpi("traffic", 300.0, updated=fresh),
        "cycling": Kpi(
            "cycling",
            40.0,
            "km",
            detail={
                "network": {"km": 40.0, "as_of": "2026-11-29T11:00:00Z"},
                "bike_share": {"bikes": 5.0, "docks": 7.0, "as_of": "2023-03-14T09:00:00Z"},
                "counts_today": {"value": None},
            },
        ),
    }
    out = with_staleness(
        values,
        {
            "air": timedelta(hours=3),
            "traffic": timedelta(hours=3),
            "network": timedelta(days=3),
            "bike_share": timedelta(minutes=15),
            "counts_today": timedelta(hours=3),
        },
        NOW,
    )
    assert out["air"].stale and out["air"].as_of == old and not out["traffic"].stale
    d = out["cycling"].detail
    assert d["bike_share"]["stale"] and not d["network"]["stale"] and "stale" not in d["counts_today"]
    assert out["cycling"].stale and not values["air"].stale  # the cached figures are not changed


@pytest.mark.parametrize(
    "lang, words",
    [
        ("en", "Latest reading: 14 Mar 2023"),
        ("es", "Última lectura: 14 mar 2023"),
        ("nl", "Laatste meting: 14 mrt 2023"),
        ("pt", "Última leitura: 14 de mar. de 2023"),
    ],
)
def test_a_stale_card_says_latest_reading_in_the_citizens_language(lang, words):
    card = kpi_card(
        Kpi("air", 12.0, "µg/m³", "good", {"guideline": 15}, datetime(2023, 3, 14, 9), stale=True),
        lang,
        "Europe/Madrid",
    )
    text = str(card.to_plotly_json())
    assert words in text and "kpi-stale" in card.className


def test_a_fresh_card_says_now():
    card = kpi_card(Kpi("air", 12.0, "µg/m³", "good", {"guideline": 15}, NOW), "en", "UTC")
    text = str(card.to_plotly_json())
    assert "Air quality now" in text and "Latest reading" not in text and "kpi-stale" not in card.className


def test_api_kpis_carry_as_of_and_stale(client, app, demo_engine, demo_city):
    got = client.get("/api/v1/kpis").get_json()["kpis"]  # judged at DEMO_END: current
    assert got["air"]["as_of"] == "2026-11-16T09:00:00Z" and got["air"]["stale"] is False
    for sub in ("network", "bike_share", "counts_today"):
        assert got["cycling"]["detail"][sub]["as_of"] and got["cycling"]["detail"][sub]["stale"] is False
    later = api_kpis(demo_engine, demo_city, DEMO_END + timedelta(days=1))  # the same data a day later
    assert later["air"]["stale"] and later["traffic"]["stale"] and later["cycling"]["detail"]["bike_share"]["stale"]
    assert later["air"]["as_of"] == "2026-11-16T09:00:00Z"


def test_the_home_page_of_day_old_demo_data_never_says_now(app, client):
    get_context(app.server).clock = lambda: DEMO_END + timedelta(days=1)
    page = render_page(client, "/")
    text = _text(page)
    assert "How is Demoville doing?" in text and "doing today?" not in text
    for word in ("Air quality now", "Traffic now", "Bike share now", "Cycled past the counters today"):
        assert word not in text
    assert "Cycled past the counters on 16 Nov 2026" in text and "None of these figures is current" in text
    assert all(
        "kpi-stale" in c["props"]["className"]
        for c in _find(
            page, lambda c: c["type"] == "Section" and c["props"].get("id") in ("kpi-air", "kpi-traffic", "kpi-cycling")
        )
    )


def test_the_map_detail_panel_gives_the_readings_age(app):
    ctx = get_context(app.server)
    ctx.clock = lambda: DEMO_END + timedelta(days=400)
    fid = int(queries.features(ctx.engine, "air_station")["id"].iloc[0])
    header, _chart, _more = detail(ctx, "en", fid, "24h")
    assert "Latest reading: 16 Nov 2026, 10:00:00 (1 year ago)" in _text([h.to_plotly_json() for h in header])
