"""The city's footprint (issue 21, item 2): features outside it are stored, marked at upsert on every path, left
out of the city's figures, and counted per source. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box

from dashboard.ui import kpis
from data_sources.store import queries
from data_sources.config import CityConfig, ConfigError, load_city
from data_sources.store.footprint import footprint, mark_outside, outside_counts
from data_sources.store.db import replace_districts, upsert_features, upsert_observations, upsert_source


def _city(**city) -> CityConfig:
    return CityConfig.model_validate(
        {"city": {"name": "T", "slug": "t", "centre": [50.05, 5.05], "bounds": [[50.0, 5.0], [50.1, 5.1]], **city}}
    )


def _points(*where: tuple[str, float, float], layer: str = "air_station") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "external_id": [w[0] for w in where],
            "layer": layer,
            "name": [w[0] for w in where],
            "properties": [{} for _ in where],
        },
        geometry=[Point(lon, lat) for _id, lat, lon in where],
        crs=4326,
    )


def _pm25(*rows: tuple[str, datetime, float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "external_id": [r[0] for r in rows],
            "time": [r[1] for r in rows],
            "metric": "pm25",
            "value": [r[2] for r in rows],
            "unit": "µg/m³",
        }
    )


def test_outside_features_are_stored_marked_and_never_counted(any_engine):
    fp = footprint(any_engine, _city())
    sid = upsert_source(any_engine, "air", "csv")
    ids = upsert_features(any_engine, sid, _points(("in", 50.05, 5.05), ("far", -33.9, 151.2)), fp)
    assert ids.added == 2 and ids.outside == 1 and set(ids) == {"in", "far"}  # both stored
    t = datetime(2024, 1, 15, 8)
    upsert_observations(any_engine, ids, _pm25(("in", t, 10.0), ("far", t, 90.0), ("far", datetime(2025, 1, 1), 99.0)))
    assert queries.latest_time(any_engine, "pm25") == t  # the far station's newer reading does not set "now"
    assert set(queries.observations(any_engine, "pm25", datetime(2000, 1, 1))["value"]) == {10.0}
    assert list(queries.features(any_engine, "air_station")["name"]) == ["in"]
    assert len(queries.features(any_engine, "air_station", include_outside=True)) == 2
    assert kpis.reading_kpis(any_engine)["air"].value == 10.0
    assert outside_counts(any_engine) == {"air": 1}


def test_a_route_that_crosses_the_bounds_counts_and_one_beyond_them_does_not(engine):
    fp = footprint(engine, _city())
    routes = gpd.GeoDataFrame(
        {"external_id": ["cross", "beyond"], "layer": "cycle_route", "name": ["a", "b"], "properties": [{}, {}]},
        geometry=[LineString([(5.05, 50.05), (5.3, 50.05)]), LineString([(6, 51), (6.1, 51)])],
        crs=4326,
    )
    sid = upsert_source(engine, "routes", "overpass")
    assert upsert_features(engine, sid, routes, fp).outside == 1
    assert list(queries.features(engine, "cycle_route")["external_id"]) == ["cross"]


def test_clip_districts_and_none(engine):
    replace_districts(
        engine,
        gpd.GeoDataFrame(
            {"name": ["north"], "code": ["N"], "population": [1]}, geometry=[box(5.0, 50.05, 5.1, 50.1)], crs=4326
        ),
    )
    where = _points(("north", 50.07, 5.05), ("south", 50.02, 5.05))  # both in the bounds, one in a district
    assert list(footprint(engine, _city(clip="districts")).outside(list(where.geometry))) == [False, True]
    assert footprint(engine, _city(clip="none")) is None
    assert footprint(engine, _city(bounds=None)) is None  # no bounds given: everything counts


def test_mark_outside_judges_stored_features_again(engine):
    sid = upsert_source(engine, "air", "csv")
    upsert_features(engine, sid, _points(("a", 50.05, 5.05), ("b", 10.0, 10.0)))  # loaded without a footprint
    assert outside_counts(engine) == {}
    assert mark_outside(engine, footprint(engine, _city())) == 1 and outside_counts(engine) == {"air": 1}
    assert mark_outside(engine, None) == 0 and outside_counts(engine) == {}


def test_an_upsert_moves_a_feature_in_or_out(engine):
    fp = footprint(engine, _city())
    sid = upsert_source(engine, "air", "csv")
    upsert_features(engine, sid, _points(("a", 10.0, 10.0)), fp)
    assert outside_counts(engine) == {"air": 1}
    upsert_features(engine, sid, _points(("a", 50.05, 5.05)), fp)  # the station was misplaced upstream, now fixed
    assert outside_counts(engine) == {}


def test_clip_is_validated(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('[city]\nname = "T"\nslug = "t"\ncentre = [0, 0]\nclip = "county"\n')
    with pytest.raises(ConfigError, match="city.clip"):
        load_city(p)


def test_refresh_summary_counts_the_outside(engine, fixture_path):
    from data_sources.refresh import import_file

    path = str(fixture_path("sensor_community/filter_area.json"))
    far = _city(bounds=[[0.0, 0.0], [0.1, 0.1]])  # nowhere near the fixture's stations
    out = import_file(engine, "sensor_community", path, footprint=footprint(engine, far))
    assert out["features"] == out["outside"] > 0
