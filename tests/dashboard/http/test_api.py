"""The indicators API at /api/v1/: provenance, GeoJSON per layer, observations as CSV and JSON, the home page's
key figures, caching headers and paging."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest
from sqlalchemy import func, select

from dashboard.ui.kpis import home_kpis
from data_sources.store.models import Feature, Observation
from tests.support import DEMO_END

API = "/api/v1"


def test_sources_carry_provenance(client):
    sources = client.get(f"{API}/sources").get_json()["sources"]
    air = next(s for s in sources if s["name"] == "demo-air")
    assert air["licence"].startswith("CC0") and air["publisher"] and air["attribution"]
    assert air["layers"] == [{"layer": "air_station", "features": 40}]
    assert {"pm25", "no2"} <= set(air["metrics"])


def test_features_are_rfc7946_geojson(client, demo_engine):
    r = client.get(f"{API}/features/air_station")
    assert r.headers["Content-Type"].startswith("application/geo+json")
    fc = r.get_json()
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 40 and fc["next"] is None
    f = fc["features"][0]
    with demo_engine.connect() as conn:
        lat, lon = conn.execute(select(Feature.lat, Feature.lon).where(Feature.id == f["id"])).one()
    assert f["type"] == "Feature" and f["geometry"]["type"] == "Point"
    assert f["geometry"]["coordinates"] == pytest.approx([lon, lat])  # RFC 7946: longitude first
    assert f["properties"]["layer"] == "air_station" and f["properties"]["source"] == "demo-air"
    routes = client.get(f"{API}/features/cycle_route").get_json()
    assert {g["geometry"]["type"] for g in routes["features"]} <= {"LineString", "MultiLineString"}


def test_features_page_with_link_headers(client):
    r = client.get(f"{API}/features/bike_station", query_string={"limit": 20})
    first = r.get_json()
    assert len(first["features"]) == 20 and r.headers["X-Total-Count"] == str(first["numberMatched"])
    assert 'rel="next"' in r.headers["Link"] and first["next"].endswith("offset=20")
    rest = client.get(first["next"].replace("http://localhost", "")).get_json()
    assert len(first["features"]) + len(rest["features"]) == first["numberMatched"] and rest["next"] is None
    assert not {f["id"] for f in first["features"]} & {f["id"] for f in rest["features"]}


def test_unknown_layer_and_bad_paging(client):
    assert client.get(f"{API}/features/volcanoes").status_code == 404
    assert client.get(f"{API}/features/air_station", query_string={"limit": 0}).status_code == 400
    assert client.get(f"{API}/features/air_station", query_string={"offset": "x"}).status_code == 400


def test_observations_filter_by_metric_time_and_feature(client, demo_engine):
    start, end = "2026-11-15T00:00:00Z", "2026-11-15T05:00:00Z"
    rows = client.get(f"{API}/observations", query_string={"metric": "pm25", "start": start, "end": end}).get_json()
    with demo_engine.connect() as conn:
        expected = conn.scalar(
            select(func.count())
            .select_from(Observation)
            .where(
                Observation.metric == "pm25",
                Observation.time >= datetime(2026, 11, 15),
                Observation.time <= datetime(2026, 11, 15, 5),
            )
        )
    obs = rows["observations"]
    assert len(obs) == expected > 0 and {o["metric"] for o in obs} == {"pm25"} and rows["units"] == {"pm25": "µg/m³"}
    assert all(start <= o["time"] <= end for o in obs)
    one = obs[0]["feature_id"]
    mine = client.get(
        f"{API}/observations", query_string={"metric": "pm25", "start": start, "end": end, "feature_id": one}
    ).get_json()["observations"]
    assert {o["feature_id"] for o in mine} == {one} and len(mine) == 6


def test_observations_as_csv_match_json(client):
    q = {"metric": "no2,pm10", "start": "2026-11-16T08:00:00Z", "end": "2026-11-16T09:00:00Z"}
    r = client.get(f"{API}/observations", query_string={**q, "format": "csv"})
    assert r.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.data.decode())))
    js = client.get(f"{API}/observations", query_string=q).get_json()["observations"]
    assert len(rows) == len(js) > 0
    assert [(int(a["feature_id"]), a["time"], a["metric"], float(a["value"])) for a in rows] == [
        (b["feature_id"], b["time"], b["metric"], b["value"]) for b in js
    ]


def test_observations_page_through_everything(client):
    q = {"metric": "pm25", "start": "2026-11-16T00:00:00Z", "limit": 100}
    seen, url, pages = [], f"{API}/observations", 0
    while url:
        r = client.get(url, query_string=q if pages == 0 else None)
        body = r.get_json()
        seen += body["observations"]
        url = body["next"] and body["next"].replace("http://localhost", "")
        pages += 1
    assert pages > 2 and len({(o["feature_id"], o["time"]) for o in seen}) == len(seen) == 40 * 10


@pytest.mark.parametrize("bad", [{"start": "tomorrow"}, {"format": "xlsx"}, {"feature_id": "a,b"}, {"limit": 10**9}])
def test_observation_errors(client, bad):
    r = client.get(f"{API}/observations", query_string=bad)
    assert r.status_code == 400 and r.get_json()["error"]


def test_kpis_are_the_home_page_figures(client, demo_engine, demo_city):
    got = client.get(f"{API}/kpis").get_json()["kpis"]
    want = home_kpis(demo_engine, demo_city.city.timezone)  # the home page counts this month in the city's time
    assert set(got) == set(want)
    for k, v in want.items():
        assert got[k]["value"] == pytest.approx(v.value) and got[k]["unit"] == v.unit and got[k]["band"] == v.band
    assert got["air"]["updated"] == DEMO_END.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize(
    "path", ["/", "/sources", "/layers", "/features/air_station", "/observations?metric=pm25&limit=5", "/kpis"]
)
def test_etag_and_conditional_requests(client, path):
    r = client.get(API + path)
    assert r.status_code == 200 and r.headers["ETag"] and "max-age" in r.headers["Cache-Control"]
    assert "public" in r.headers["Cache-Control"]
    again = client.get(API + path, headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    other = client.get(API + path, headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.data == r.data


def test_etag_changes_when_the_data_changes(client, demo_engine):
    from sqlalchemy import update

    before = client.get(f"{API}/features/air_station").headers["ETag"]
    with demo_engine.begin() as conn:
        conn.execute(update(Feature).where(Feature.layer == "air_station").values(name="Renamed"))
    after = client.get(f"{API}/features/air_station", headers={"If-None-Match": before})
    assert after.status_code == 200 and after.headers["ETag"] != before


def test_index_links_everything(client):
    links = client.get(f"{API}/").get_json()["links"]
    for name, url in links.items():
        assert client.get(url.replace("http://localhost", "")).status_code == 200, name
