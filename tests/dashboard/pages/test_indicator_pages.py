"""The indicator pages (/air, /traffic, /cycling) and About the data: state in the URL, filters that change the
text, tables and charts, bands and guidelines drawn on the charts."""

import base64
from datetime import date, datetime

import numpy as np
import pytest
from hypothesis import given, strategies as st

from dashboard.i18n import fmt_number
from dashboard.ui.indicators import MAX_DAYS, INDICATORS, State, parse_state
from tests.support import dash_update, render_page
from tests.dashboard.pages.test_home import _find, _text

DISTRICTS = {1, 2, 3}


@given(
    indicator=st.sampled_from(list(INDICATORS)),
    district=st.sampled_from([None, 1, 2, 3]),
    start=st.dates(date(2020, 1, 1), date(2030, 1, 1)),
    days=st.integers(0, 300),
)
def test_the_url_round_trips_the_state(indicator, district, start, days):
    from datetime import timedelta
    from urllib.parse import parse_qs

    metric = INDICATORS[indicator].metrics[-1].key
    s = State(metric, district, start, start + timedelta(days=days))
    assert parse_state(INDICATORS[indicator], parse_qs(s.query("es")[1:]), None, DISTRICTS) == s


@given(q=st.dictionaries(st.sampled_from(["metric", "district", "from", "to", "x"]), st.text(max_size=12)))
def test_any_query_gives_a_valid_state(q):
    s = parse_state(INDICATORS["air"], q, datetime(2026, 11, 16, 9), DISTRICTS)
    assert s.metric in ("pm25", "pm10", "no2") and s.district in (None, *DISTRICTS) and s.start <= s.end
    assert (s.end - s.start).days < MAX_DAYS


def _filters(indicator, metric, district, start, end, metric_prop="value"):
    return [
        {"id": f"{indicator}-metric", "property": metric_prop, "value": metric},
        {"id": f"{indicator}-district", "property": "value", "value": district},
        {"id": f"{indicator}-from", "property": "value", "value": start},
        {"id": f"{indicator}-to", "property": "value", "value": end},
    ]


@pytest.mark.parametrize("indicator", list(INDICATORS))
def test_indicator_page_has_summary_and_downloads_and_its_tables_wait_to_be_opened(client, indicator):
    page = render_page(client, f"/{indicator}")
    summary = _text(_find(page, lambda c: c["props"].get("id") == f"{indicator}-summary")[0])
    assert summary.startswith("From ") and "averaged" in summary
    links = [
        c["props"]["href"]
        for c in _find(page, lambda c: c["type"] == "A" and "/download/" in c["props"].get("href", ""))
    ]
    assert any(h.startswith(f"/download/{indicator}.csv?metric=") for h in links)
    assert not _find(page, lambda c: c["type"] == "Graph")  # charts wait for plotly.js, the text does not
    # The tables wait for the citizen to open "Show the data as a table": the first layout has no table in it, only
    # the disclosure (which assets/citydash.js keeps in step with Dash) saying that they are loading.
    assert not _find(page, lambda c: c["type"] in ("Table", "Tr", "Td"))
    (details,) = _find(page, lambda c: c["props"].get("className") == "table-details")
    assert details["props"]["id"] == f"{indicator}-tables-details" and "data-sync-open" in details["props"]
    assert _text(details).split() == "Show the data as a table The tables are loading.".split()
    assert len(_find(page, lambda c: True)) < 150  # the whole page: about 60 components; with its tables, 695-725
    # The server-rendered first paint (plain HTML, nothing to hydrate; also the copy a phone keeps offline) has them,
    # so that they open at once before Dash has drawn the live page.
    html = client.get(f"/{indicator}").get_data(as_text=True)
    first = html[html.index('<div id="first-paint"') : html.index('<div id="react-entry-point"')]
    details = first[first.index(f'<details id="{indicator}-tables-details"') :]
    details = details[: details.index("</details>")]
    assert details.count("<table") == 2 and details.count("<tr>") > 20 and "The tables are loading." not in details


def _page_filters(page, indicator):
    """The filters as the page drew them (what the browser sends with a callback)."""
    values = {}
    for key in ("metric", "district", "from", "to"):
        (c,) = _find(page, lambda c, key=key: c["props"].get("id") == f"{indicator}-{key}")
        values[key] = c["props"].get("value", c["props"].get("data"))
    prop = "value" if len(INDICATORS[indicator].metrics) > 1 else "data"  # one metric: a dcc.Store
    return _filters(indicator, values["metric"], values["district"], values["from"], values["to"], prop)


def _tables(client, indicator, filters, is_open=True, lang="en"):
    return dash_update(
        client,
        f"{indicator}-tables.children",
        [{"id": f"{indicator}-tables-details", "property": "open", "value": is_open}, *filters],
        state=[{"id": f"{indicator}-lang", "property": "data", "value": lang}],
    )


def _rows(table) -> list[list[str]]:
    return [
        [_text(td) for td in _find(tr, lambda c: c["type"] == "Td")] for tr in _find(table, lambda c: c["type"] == "Tr")
    ][1:]


def _values(trace, axis: str = "y") -> list:
    v = trace[axis]
    if isinstance(v, dict):  # plotly.py 6 sends numbers as a typed array
        v = np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"]).tolist()
    return list(v)


@pytest.mark.parametrize("indicator", list(INDICATORS))
def test_opening_the_tables_shows_the_rows_the_charts_show(client, indicator):
    page = render_page(client, f"/{indicator}")
    filters = _page_filters(page, indicator)
    r = _tables(client, indicator, filters)
    assert r.status_code == 200, r.data[:300]
    boxes = r.get_json()["response"][f"{indicator}-tables"]["children"]
    time_table, district_table = _find(boxes, lambda c: c["type"] == "Table")
    # Each table in a scroll box the keyboard can reach, named by its caption.
    regions = _find(boxes, lambda c: c["props"].get("role") == "region")
    captions = [_text(_find(t, lambda c: c["type"] == "Caption")[0]) for t in (time_table, district_table)]
    assert [g["props"]["aria-label"] for g in regions] == captions and all(
        g["props"]["tabIndex"] == "0" for g in regions
    )
    assert captions[0].endswith(" over time") and captions[1].endswith(" by district")
    # The rows are the points of the charts drawn for the same view: the city line, value by value, and the bars.
    ts, bars = _charts(client, indicator, *[f["value"] for f in filters], prop=filters[0]["property"])
    city = next(t for t in ts["data"] if t.get("name") == "Whole city")
    rows = _rows(time_table)
    assert rows and [v for _t, area, v in rows if area == "Whole city"] == [
        fmt_number(y, "en", 1) for y in _values(city)
    ]
    district_rows = _rows(district_table)
    bar = bars["data"][0]  # horizontal bars: the districts on y, their values on x
    shown = sorted(zip(_values(bar, "y"), (fmt_number(v, "en", 1) for v in _values(bar, "x"))))
    assert shown and sorted((d, v) for d, v, _n in district_rows) == shown


def test_closed_tables_are_not_drawn_and_follow_the_filters_once_open(client):
    page = render_page(client, "/air")
    filters = _page_filters(page, "air")
    for closed in (False, None, "open", 1):  # nothing drawn until the disclosure is really open
        r = _tables(client, "air", filters, is_open=closed)
        assert r.status_code == 204 or "air-tables" not in r.get_json().get("response", {}), closed
    # Opened, then the pollutant and the dates change: the tables follow, in the page's language.
    moved = _filters("air", "pm10", 3, "2026-11-01", "2026-11-14")
    r = _tables(client, "air", moved, lang="es")
    boxes = r.get_json()["response"]["air-tables"]["children"]
    captions = [_text(c) for c in _find(boxes, lambda c: c["type"] == "Caption")]
    assert captions == ["Partículas (PM10) a lo largo del tiempo", "Partículas (PM10) por distrito"], captions
    rows = _rows(_find(boxes, lambda c: c["type"] == "Table")[0])
    for area in {a for _t, a, _v in rows}:  # the district and the whole city: daily means, one row per day
        times = [t for t, a, _v in rows if a == area]
        assert len(times) == 14 and times[0].startswith("1 nov") and times[-1].startswith("14 nov"), times


def test_shared_url_opens_the_same_view(client):
    page = render_page(client, "/air", "?metric=no2&district=2&from=2026-11-10&to=2026-11-12")
    assert _find(page, lambda c: c["props"].get("id") == "air-metric")[0]["props"]["value"] == "no2"
    assert _find(page, lambda c: c["props"].get("id") == "air-district")[0]["props"]["value"] == 2
    summary = _text(_find(page, lambda c: c["props"].get("id") == "air-summary")[0])
    assert "10 Nov 2026" in summary and "Nitrogen dioxide" in summary


def test_a_filter_changes_the_summary_and_downloads(client):
    r = dash_update(
        client,
        "..air-summary.children...air-downloads.children...air-district-summary.children..",
        _filters("air", "pm10", 3, "2026-11-01", "2026-11-14"),
        state=[{"id": "air-lang", "property": "data", "value": "en"}],
    )
    resp = r.get_json()["response"]
    assert "Particles (PM10)" in _text(resp["air-summary"]["children"]) and "1 Nov 2026" in _text(
        resp["air-summary"]["children"]
    )
    assert resp["air-district-summary"]["children"].startswith("District: ")
    hrefs = [c["props"]["href"] for c in _find(resp["air-downloads"]["children"], lambda c: c["type"] == "A")]
    assert "/download/air.csv?metric=pm10&from=2026-11-01&to=2026-11-14&district=3" in hrefs


def _charts(client, indicator, metric, district=None, start="2026-11-10", end="2026-11-15", prop="value"):
    r = dash_update(
        client,
        f"{indicator}-charts.children",
        [
            {"id": f"{indicator}-charts-ready", "property": "data", "value": 1},
            *_filters(indicator, metric, district, start, end, prop),
        ],
        state=[{"id": f"{indicator}-lang", "property": "data", "value": "en"}],
    )
    graphs = _find(r.get_json()["response"][f"{indicator}-charts"]["children"], lambda c: c["type"] == "Graph")
    return [g["props"]["figure"] for g in graphs]


def test_air_charts_draw_bands_and_the_guideline(client):
    ts, bars = _charts(client, "air", "pm25", district=2)
    assert len(ts["data"]) == 2 and "Whole city" in {t["name"] for t in ts["data"]}  # the district against the city
    rects = [s for s in ts["layout"]["shapes"] if s["type"] == "rect"]
    lines = [s for s in ts["layout"]["shapes"] if s["type"] == "line"]
    assert rects and lines[0]["y0"] == 15  # EAQI bands behind, WHO 24-hour guideline for PM2.5
    assert bars["data"][0]["type"] == "bar" and bars["layout"]["shapes"][0]["x0"] == 15


def test_traffic_chart_draws_the_usual_range(client):
    ts, _bars = _charts(client, "traffic", "vehicles", prop="data")
    assert any(t.get("fill") == "tonexty" for t in ts["data"])


def test_cycling_mode_switches_to_bike_share(client):
    ts, _bars = _charts(client, "cycling", "bikes_available")
    assert ts["layout"]["yaxis"]["title"]["text"] == "bikes"


def test_charts_wait_until_in_view(client):
    r = dash_update(
        client,
        "air-charts.children",
        [
            {"id": "air-charts-ready", "property": "data", "value": None},
            *_filters("air", "pm25", None, "2026-11-10", "2026-11-15"),
        ],
        state=[{"id": "air-lang", "property": "data", "value": "en"}],
    )
    assert r.status_code == 204 or "air-charts" not in r.get_json().get("response", {})  # nothing drawn yet


def test_about_lists_every_source(client):
    page = render_page(client, "/about", "?lang=pt")
    rows = _find(page, lambda c: c["type"] == "Tr")
    text = _text(page)
    assert len(rows) == 1 + 5  # header + the five demo sources
    assert "citydash demo generator" in text and "CC0-1.0" in text and "Funcionando" in text
