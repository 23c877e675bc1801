"""The home page: KPI cards with their numbers and the map with the demo layers, offline."""
import json

import pandas as pd
import pytest

from dashboard.kpis import Kpi, air_now, network_km, traffic_now
from tests.conftest import dash_update, render_page


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


def test_index_is_served(client):
    r = client.get("/")
    assert r.status_code == 200 and b"Demoville" in r.data


def test_home_has_kpis_and_offline_map(client):
    page = render_page(client, "/")
    kpis = {c["props"]["id"]: c for c in _find(page, lambda c: str(c["props"].get("id", "")).startswith("kpi-") and c["type"] == "Section")}
    assert set(kpis) == {"kpi-air", "kpi-traffic", "kpi-cycling", "kpi-comments"}
    air = _text(kpis["kpi-air"])
    assert "µg/m³" in air and "WHO" in air and "What does this mean?" in air
    assert "vehicles/h" in _text(kpis["kpi-traffic"]) and "km" in _text(kpis["kpi-cycling"])
    graph = _find(page, lambda c: c["props"].get("id") == "home-map")[0]
    fig = graph["props"]["figure"]
    assert fig["layout"]["map"]["style"] == "white-bg"
    assert all(l.get("sourcetype") == "geojson" for l in fig["layout"]["map"]["layers"])  # districts, local
    layers = {t["meta"]["layer"] for t in fig["data"]}
    assert layers == {"air_station", "traffic_counter", "cycle_route", "bike_station", "comments"}
    assert all(t["type"] == "scattermap" and "text" not in t.get("mode", "") for t in fig["data"])  # no font fetch
    assert "Demo city" in _text(page)


def test_switching_layers_changes_the_map(client):
    r = dash_update(client, "home-map.figure", [{"id": "home-layers", "property": "value", "value": ["air_station"]},
                                               {"id": "home-lang", "property": "data", "value": "en"}])
    fig = r.get_json()["response"]["home-map"]["figure"]
    assert {t["meta"]["layer"] for t in fig["data"]} == {"air_station"}


def test_page_speaks_the_browser_language(client):
    page = render_page(client, "/", headers={"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"})
    assert page["props"]["lang"] == "es"
    assert render_page(client, "/", "?lang=nl")["props"]["lang"] == "nl"


def test_unknown_page_says_so(client):
    assert "Page not found" in _text(render_page(client, "/no/such/page"))


# --- KPI computations against hand-computed values --------------------------------------------------------

T = pd.Timestamp("2026-01-05 09:00")


def test_air_now_median_of_latest_and_share_above_who():
    rows = []
    # station 1: 24 h mean 10, latest 12; station 2: mean 20, latest 30; station 3: mean 16, latest 6
    for fid, mean, latest in ((1, 10, 12), (2, 20, 30), (3, 16, 6)):
        for h in range(23):
            rows.append((fid, T - pd.Timedelta(hours=23 - h), (mean * 24 - latest) / 23))
        rows.append((fid, T, latest))
    k = air_now(pd.DataFrame(rows, columns=["feature_id", "time", "value"]), T.to_pydatetime())
    assert k.value == 12 and k.band == "good"
    assert k.detail["share_above_who"] == pytest.approx(2 / 3)


def test_air_now_with_only_old_readings_is_empty():
    df = pd.DataFrame({"feature_id": [1], "time": [T - pd.Timedelta(hours=10)], "value": [50.0]})
    assert air_now(df, T.to_pydatetime()).value is None


def test_traffic_against_usual_for_this_hour_and_weekday():
    rows = [(1, T, 120), (2, T, 60)]
    for w, (a, b) in enumerate([(100, 50), (80, 40), (110, 70), (90, 60)], start=1):
        rows += [(1, T - pd.Timedelta(weeks=w), a), (2, T - pd.Timedelta(weeks=w), b)]
    k = traffic_now(pd.DataFrame(rows, columns=["feature_id", "time", "value"]), T)
    # usual = median(100,80,110,90)=95 + median(50,40,70,60)=55 -> 150; now 180 -> +20 %
    assert k.value == 180 and k.detail["usual"] == 150 and k.detail["ratio"] == pytest.approx(1.2)


def test_network_km_of_a_known_line():
    from shapely.geometry import LineString

    # one degree of latitude is ~111.2 km
    assert network_km([LineString([(0, 0), (0, 1)])]) == pytest.approx(110.6, abs=0.7)
