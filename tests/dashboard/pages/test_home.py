"""The home page: KPI cards with their numbers, the deferred map with its layers, the district colouring and the
detail panel of a feature, offline."""

import pytest
from sqlalchemy import update

from data_sources.store.models import Comment
from tests.support import dash_update, render_page


def _find(node, pred, acc=None):
    """All components in a Dash layout JSON for which pred(component) holds."""
    acc = [] if acc is None else acc
    if isinstance(node, dict):
        if "type" in node and "props" in node and pred(node):
            acc.append(node)
        for v in node.values():
            _find(v, pred, acc)
    elif isinstance(node, list):
        for v in node:
            _find(v, pred, acc)
    return acc


def _text(node) -> str:
    if isinstance(node, str):
        return node
    if isinstance(node, (int, float)):
        return str(node)
    if isinstance(node, list):
        return " ".join(_text(n) for n in node)
    if isinstance(node, dict):
        return _text(node.get("props", {}).get("children", "")) if "props" in node else ""
    return ""


def _n(arr) -> int:
    """Length of a figure array, plain or as Plotly's typed-array JSON ({"dtype", "bdata"})."""
    if isinstance(arr, dict):
        import base64

        import numpy as np

        return len(np.frombuffer(base64.b64decode(arr["bdata"]), dtype=np.dtype(arr["dtype"])))
    return len(arr)


def test_index_is_served(client):
    r = client.get("/")
    assert r.status_code == 200 and b"Demoville" in r.data


def test_home_has_the_four_kpi_cards(client):
    page = render_page(client, "/")
    cards = {
        c["props"]["id"]: _text(c)
        for c in _find(page, lambda c: str(c["props"].get("id", "")).startswith("kpi-") and c["type"] == "Section")
    }
    assert set(cards) == {"kpi-air", "kpi-traffic", "kpi-cycling", "kpi-participation"}
    assert "µg/m³" in cards["kpi-air"] and "WHO" in cards["kpi-air"] and "European AQI" in cards["kpi-air"]
    assert "What does this mean?" in cards["kpi-air"] and "Source: Air quality (demo)" in cards["kpi-air"]
    assert "vehicles/h" in cards["kpi-traffic"] and any(
        w in cards["kpi-traffic"] for w in ("Busier than usual", "As usual", "Quieter than usual")
    )
    assert "km of cycle network" in cards["kpi-cycling"] and "free docks" in cards["kpi-cycling"]
    assert "Cycled past the counters today" in cards["kpi-cycling"]
    assert "this month" in cards["kpi-participation"] and "answered" in cards["kpi-participation"]
    assert "Demo city" in _text(page)


def test_the_map_waits_until_it_is_in_view_then_is_offline(client):
    page = render_page(client, "/")
    assert not _find(page, lambda c: c["type"] == "Graph")  # plotly.js is not needed for the first view
    r = dash_update(
        client,
        "home-map-slot.children",
        [{"id": "home-map-slot-ready", "property": "data", "value": 1}],
        state=[
            {
                "id": "home-layers",
                "property": "value",
                "value": ["air_station", "traffic_counter", "cycle_route", "cycle_counter", "bike_station", "comments"],
            },
            {"id": "home-choropleth", "property": "value", "value": "none"},
            {"id": "home-res", "property": "data", "value": 7},
            {"id": "home-lang", "property": "data", "value": "en"},
        ],
    )
    fig = r.get_json()["response"]["home-map-slot"]["children"]["props"]["figure"]
    assert fig["layout"]["map"]["style"] == "white-bg"
    assert all(l.get("sourcetype") == "geojson" for l in fig["layout"]["map"]["layers"])  # districts, local
    layers = {t["meta"]["layer"] for t in fig["data"]}
    assert layers == {"air_station", "traffic_counter", "cycle_route", "cycle_counter", "bike_station", "comments"}
    assert all(
        t["type"] == "scattermap" and "text" not in t.get("mode", "") and "symbol" not in t.get("marker", {})
        for t in fig["data"]
    )  # no font or sprite fetch


def _update_map(client, layers, choropleth="none", res=7, lang="en"):
    r = dash_update(
        client,
        "..home-map.figure...home-legend.children..",
        [
            {"id": "home-layers", "property": "value", "value": layers},
            {"id": "home-choropleth", "property": "value", "value": choropleth},
            {"id": "home-res", "property": "data", "value": res},
        ],
        state=[{"id": "home-lang", "property": "data", "value": lang}],
    )
    assert r.status_code == 200, r.data[:300]
    return r.get_json()["response"]


def test_switching_layers_changes_the_map_and_legend(client):
    resp = _update_map(client, ["air_station"])
    fig = resp["home-map"]["figure"]
    assert {t["meta"]["layer"] for t in fig["data"]} == {"air_station"}
    legend = _text(resp["home-legend"]["children"])
    assert "Air quality (European index)" in legend and "Bike-share station" not in legend


def test_air_stations_have_a_band_in_words_and_a_size_by_band(client):
    fig = _update_map(client, ["air_station"])["home-map"]["figure"]
    named = [t for t in fig["data"] if not t["meta"].get("ring")]
    sizes = {t["meta"]["band"]: t["marker"]["size"] for t in named}
    assert all(t["name"].startswith("Air quality: ") for t in named)
    assert len(set(sizes.values())) == len(sizes)  # each band its own size: not colour alone


def test_district_choropleth_for_an_indicator(client):
    fig = _update_map(client, [], choropleth="pm25")["home-map"]["figure"]
    choro = [t for t in fig["data"] if t["type"] == "choroplethmap"]
    assert len(choro) == 1 and len(choro[0]["locations"]) == 12  # the demo city's districts
    z = [v for v in choro[0]["z"] if v is not None]
    assert len(z) >= 8 and all(2 < v < 60 for v in z)  # µg/m³ means of the districts that have a station


def test_comments_are_finer_when_zoomed_in(client):
    coarse = _update_map(client, ["comments"], res=7)["home-map"]["figure"]["data"][0]
    fine = _update_map(client, ["comments"], res=9)["home-map"]["figure"]["data"][0]
    assert _n(fine["lat"]) > _n(coarse["lat"])
    r = dash_update(
        client,
        "home-res.data",
        [{"id": "home-map", "property": "relayoutData", "value": {"map.zoom": 14.5}}],
        state=[{"id": "home-res", "property": "data", "value": 7}],
    )
    assert r.get_json()["response"]["home-res"]["data"] == 9


def _detail(client, feature_id, period="24h", lang="en"):
    r = dash_update(
        client,
        "..home-detail-body.children...home-detail-chart.children...home-detail-more.children...home-detail.hidden..",
        [
            {"id": "home-feature", "property": "data", "value": feature_id},
            {"id": "home-period", "property": "value", "value": period},
        ],
        state=[{"id": "home-lang", "property": "data", "value": lang}],
    )
    assert r.status_code == 200, r.data[:500]
    return r.get_json()["response"]


def _station_id(app, layer="air_station"):
    from data_sources.store import queries
    from dashboard.context import get_context

    return int(queries.features(get_context(app.server).engine, layer)["id"].iloc[0])


@pytest.mark.parametrize("period,points", [("24h", 24), ("7d", 168), ("30d", 30)])
def test_clicking_a_station_opens_its_detail(app, client, period, points):
    fid = _station_id(app)
    r = dash_update(
        client,
        "home-feature.data",
        [{"id": "home-map", "property": "clickData", "value": {"points": [{"customdata": [fid, 12.0]}]}}],
    )
    assert r.get_json()["response"]["home-feature"]["data"] == fid
    resp = _detail(client, fid, period)
    assert resp["home-detail"]["hidden"] is False
    chart = resp["home-detail-chart"]["children"]
    fig = _find(chart, lambda c: c["type"] == "Graph")[0]["props"]["figure"]
    assert {t["type"] for t in fig["data"]} == {"scatter"}
    assert _n(fig["data"][0]["x"]) in (points, points + 1)  # hourly points, or daily for 30 days
    assert any(s["type"] == "line" for s in fig["layout"]["shapes"])  # the WHO guideline
    assert "WHO" in _text(resp["home-detail-body"]["children"])
    more = resp["home-detail-more"]["children"]
    link = _find(more, lambda c: c["type"] == "A" and "/report" in c["props"].get("href", ""))[0]
    assert link["props"]["href"] == f"/report?feature={fid}&lang=en"


def test_a_click_names_its_feature_however_the_browser_sends_customdata():
    from dashboard.pages.home import clicked_feature

    assert clicked_feature({"points": [{"customdata": [65, 8.6]}]}) == 65
    assert clicked_feature({"points": [{"customdata": {"0": 65, "1": 8.6}}]}) == 65  # from a typed array
    assert clicked_feature({"points": [{"customdata": 12}]}) is None  # a comment cell: a count, not a feature
    assert clicked_feature(None) is None


def test_counter_detail_shows_the_usual_range(app, client):
    resp = _detail(client, _station_id(app, "traffic_counter"), "7d")
    fig = _find(resp["home-detail-chart"]["children"], lambda c: c["type"] == "Graph")[0]["props"]["figure"]
    assert any(t.get("fill") == "tonexty" for t in fig["data"])


def test_detail_lists_published_linked_comments_only(app, client, demo_engine):
    fid = _station_id(app)
    with demo_engine.begin() as conn:
        ids = conn.scalars(Comment.__table__.select().with_only_columns(Comment.id).limit(2)).all()
        conn.execute(
            update(Comment)
            .where(Comment.id == ids[0])
            .values(feature_id=fid, text="<b>Smells of smoke</b>", moderation="published")
        )
        conn.execute(
            update(Comment).where(Comment.id == ids[1]).values(feature_id=fid, text="Held comment", moderation="held")
        )
    more = _detail(client, fid)["home-detail-more"]["children"]
    text = _text(more)
    assert "<b>Smells of smoke</b>" in text  # a plain string: React renders it as text
    assert "Held comment" not in text


def test_page_speaks_the_browser_language(client):
    page = render_page(client, "/", headers={"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"})
    assert page["props"]["lang"] == "es" and "¿Qué significa esto?" in _text(page)
    assert render_page(client, "/", "?lang=nl")["props"]["lang"] == "nl"


def test_unknown_page_says_so(client):
    assert "Page not found" in _text(render_page(client, "/no/such/page"))
