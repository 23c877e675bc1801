"""No blank pages (issue 21, item 8): every page renders its frame and a plain message for whatever query its URL
holds (empty date ranges, unknown metrics, junk), on an empty store, the demo store and a store whose data is
years old; and the two faults found with real data (an empty range on /traffic, a source that never succeeded on
/about) stay fixed."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest
from dash import Dash
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from data_sources.config import CityConfig, Settings
from data_sources.store.db import open_store, record_failure, upsert_source
from tests.support import DEMO_END, dash_update, render_page
from tests.dashboard.pages.test_home import _find, _text

OLD_END = datetime(2019, 3, 14, 18, 0)  # a store whose newest reading is years old
PATHS = [
    "/",
    "/air",
    "/traffic",
    "/cycling",
    "/about",
    "/report",
    "/comments/1",
    "/comments/987654321",
    "/track/not-a-token",
    "/you-said-we-did",
    "/ledger",
    "/officials",
    "/officials/queue",
    "/officials/moderation",
    "/officials/audit",
    "/no-such-page",
]
KEYS = ["metric", "district", "from", "to", "lang", "period", "layer", "status", "category", "feature", "page", "q"]
VALUES = st.one_of(
    st.sampled_from(
        [
            "",
            "pm25",
            "no2",
            "vehicles",
            "cyclists",
            "bikes_available",
            "docks_available",
            "nonsense",
            "0",
            "-1",
            "99999999999999999999",
            "2001-01-01",
            "2019-03-14",
            "2026-11-16",
            "2999-12-31",
            "2026-02-30",
            "es",
            "nl",
            "pt",
            "xx",
            "<script>",
            "%00",
            "NaN",
            "1e309",
        ]
    ),
    st.text(max_size=15),
)
QUERIES = st.dictionaries(
    st.sampled_from(KEYS), st.one_of(VALUES, st.lists(VALUES, min_size=2, max_size=3)), max_size=5
)


def _app(city: CityConfig, url: str, tmp: Path, clock: datetime | None = None) -> Dash:
    from dashboard.app import create_app
    from dashboard.context import get_context

    settings = Settings.from_env({"CITYDASH_DATA_DIR": str(tmp), "CITYDASH_SECRET_KEY": "test-secret"})
    app = create_app(city=city, settings=settings, engine=open_store(url))
    if clock is not None:
        get_context(app.server).clock = lambda: clock
    return app


def _real(city: CityConfig) -> CityConfig:
    """The demo city's settings, without the demo banner and without loading the demo into an empty store."""
    return city.model_copy(update={"city": city.city.model_copy(update={"demo": False})})


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory, demo_city: CityConfig, demo_store_file: Path) -> dict[str, Dash]:
    """name -> app: an empty store, the demo store (judged at its end) and one whose data ends in 2019."""
    from data_sources.demo import load_demo

    tmp = tmp_path_factory.mktemp("blank")
    old = tmp / "old.sqlite"
    eng = open_store(f"sqlite:///{old}")
    load_demo(eng, demo_city, seed=7, n_comments=200, days=30, end=OLD_END)
    sid = upsert_source(eng, "never-worked", "csv", title="A source that never worked")
    record_failure(eng, sid, "HTTP 404")
    eng.dispose()
    demo_copy = tmp / "demo.sqlite"
    demo_copy.write_bytes(Path(demo_store_file).read_bytes())
    return {
        "empty": _app(_real(demo_city), f"sqlite:///{tmp / 'empty.sqlite'}", tmp),
        "demo": _app(demo_city, f"sqlite:///{demo_copy}", tmp, clock=DEMO_END),
        "old": _app(_real(demo_city), f"sqlite:///{old}", tmp),
    }


def _frame_and_words(page: dict) -> str:
    """The page's text; fails unless the frame (header, main, footer) is there and the main part says something."""
    assert _find(page, lambda c: c["type"] == "Header") and _find(page, lambda c: c["type"] == "Footer")
    main = _find(page, lambda c: c["type"] == "Main")
    assert main and _text(main[0]).strip()
    return _text(page)


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(store=st.sampled_from(["empty", "demo", "old"]), path=st.sampled_from(PATHS), query=QUERIES)
def test_every_page_renders_its_frame_for_any_query(stores, store, path, query):
    client = stores[store].server.test_client()
    search = "?" + urlencode(query, doseq=True) if query else ""
    _frame_and_words(render_page(client, path, search))


@pytest.mark.parametrize("store", ["empty", "demo", "old"])
@pytest.mark.parametrize("path", PATHS)
def test_every_page_renders_on_every_store(stores, store, path):
    _frame_and_words(render_page(stores[store].server.test_client(), path))


@pytest.mark.parametrize("indicator", ["traffic", "cycling", "air"])
def test_a_date_range_with_no_rows_says_so(stores, indicator):
    client = stores["demo"].server.test_client()
    page = render_page(client, f"/{indicator}", "?from=2001-01-01&to=2001-01-02")
    summary = _text(_find(page, lambda c: c["props"].get("id") == f"{indicator}-summary")[0])
    assert summary.startswith("No readings for this choice of dates and district.")
    assert "Latest reading: 16 Nov 2026" in summary  # where the data is
    r = dash_update(
        client,
        f"{indicator}-charts.children",
        [
            {"id": f"{indicator}-charts-ready", "property": "data", "value": 1},
            {
                "id": f"{indicator}-metric",
                "property": "value" if indicator != "traffic" else "data",
                "value": {"air": "pm25", "traffic": "vehicles", "cycling": "cyclists"}[indicator],
            },
            {"id": f"{indicator}-district", "property": "value", "value": ""},
            {"id": f"{indicator}-from", "property": "value", "value": "2001-01-01"},
            {"id": f"{indicator}-to", "property": "value", "value": "2001-01-02"},
        ],
        state=[{"id": f"{indicator}-lang", "property": "data", "value": "en"}],
    )
    assert r.status_code == 200, r.data[:300]


def test_an_old_store_opens_its_pages_on_its_latest_data(stores):
    """Without dates, a page of years-old data shows its last week, says "Latest reading" and never "now"."""
    client = stores["old"].server.test_client()
    page = render_page(client, "/traffic")
    text = _text(page)
    assert "Latest reading: 14 Mar 2019" in text
    summary = _text(_find(page, lambda c: c["props"].get("id") == "traffic-summary")[0])
    assert "averaged" in summary and "14 Mar 2019" in summary
    home = _text(render_page(client, "/"))
    assert "How is Demoville doing?" in home and "today?" not in home
    assert "Air quality now" not in home and "Traffic now" not in home and "Bike share now" not in home
    assert "Cycled past the counters today" not in home
    assert "Latest reading: 14 Mar 2019" in home and "None of these figures is current" in home


def test_about_names_a_source_that_never_succeeded(stores):
    text = _frame_and_words(render_page(stores["old"].server.test_client(), "/about"))
    assert "A source that never worked" in text and "Last update failed: HTTP 404" in text
