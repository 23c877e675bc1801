"""Open data back to citizens: CSV with its licence in comment lines, GeoJSON per RFC 7946 with licence and
attribution as foreign members."""

import io
import json

import pandas as pd
import pytest
import shapely


def _csv(client, url):
    r = client.get(url)
    assert r.status_code == 200 and r.mimetype == "text/csv"
    text = r.get_data(as_text=True)
    header = [l for l in text.splitlines() if l.startswith("#")]
    return header, pd.read_csv(io.StringIO(text), comment="#")


def _geojson(client, url):
    r = client.get(url)
    assert r.status_code == 200 and r.mimetype == "application/geo+json"
    assert "attachment" in r.headers["Content-Disposition"]
    return json.loads(r.get_data(as_text=True))


def test_stations_csv_names_licence_and_sources(client):
    header, df = _csv(client, "/download/stations.csv")
    assert any(l.startswith("# Licence: CC0-1.0") for l in header)
    assert any(l.startswith("# Attribution: Synthetic data") for l in header)
    assert sum(l.startswith("# Source:") for l in header) == 4
    assert set(df["layer"]) == {"air_station", "traffic_counter", "cycle_counter", "bike_station"}
    assert len(df) == 40 + 60 + 8 + 30 and df["value"].notna().all()


def test_indicator_csv_is_what_the_page_shows(client):
    _h, df = _csv(client, "/download/air.csv?metric=no2&district=2&from=2026-11-10&to=2026-11-11")
    assert list(df.columns) == ["time", "area", "metric", "value", "unit"]
    assert set(df["metric"]) == {"no2"} and len(set(df["area"])) == 2 and "whole city" in set(df["area"])
    assert df["time"].min() == "2026-11-10T00:00:00Z" and df["time"].max() <= "2026-11-11T23:00:00Z"


@pytest.mark.parametrize(
    "url",
    [
        "/download/stations.geojson",
        "/download/air-districts.geojson",
        "/download/traffic.geojson",
        "/download/cycle-routes.geojson",
    ],
)
def test_geojson_follows_rfc_7946(client, demo_city, url):
    fc = _geojson(client, url)
    assert fc["type"] == "FeatureCollection" and "crs" not in fc  # WGS 84 only
    assert fc["licence"].startswith("CC0-1.0") and fc["attribution"] and fc["sources"][0]["publisher"]
    assert fc["features"]
    (south, west), (north, east) = demo_city.city.bounds
    for f in fc["features"]:
        assert f["type"] == "Feature" and isinstance(f["properties"], dict)
        g = shapely.from_geojson(json.dumps(f["geometry"]))
        minx, miny, maxx, maxy = g.bounds  # x is longitude: lon, lat order
        assert west - 0.2 <= minx and maxx <= east + 0.2 and south - 0.2 <= miny and maxy <= north + 0.2
        for poly in getattr(g, "geoms", [g]):
            if poly.geom_type == "Polygon":
                assert poly.exterior.is_ccw  # right-hand rule


def test_district_geojson_carries_the_period_values(client):
    fc = _geojson(client, "/download/air-districts.geojson?metric=pm25&from=2026-11-10&to=2026-11-12")
    props = fc["features"][0]["properties"]
    assert props["metric"] == "pm25" and props["start"] == "2026-11-10" and props["value"] > 0


@pytest.mark.parametrize("url", ["/download/nothing.csv", "/download/air.xlsx", "/download/air-stations.csv"])
def test_unknown_downloads_are_404(client, url):
    assert client.get(url).status_code == 404
