"""The store keeps what connectors give it, once, on SQLite and on PostgreSQL."""

from datetime import datetime

import geopandas as gpd
import pandas as pd
from shapely.geometry import LineString, Point
from sqlalchemy import func, select

from data_sources.ingest.types import SourceMeta
from data_sources.store.models import Feature, Observation, Source
from data_sources.store.db import record_failure, record_success, upsert_features, upsert_observations, upsert_source


def _features():
    return gpd.GeoDataFrame(
        {
            "external_id": ["s1", "r1"],
            "layer": ["air_station", "cycle_route"],
            "name": ["Station 1", "Route 1"],
            "properties": [{"sensor": "SDS011"}, {"highway": "cycleway"}],
        },
        geometry=[Point(-4.25, 55.86), LineString([(-4.25, 55.86), (-4.24, 55.87)])],
        crs=4326,
    )


def _obs():
    return pd.DataFrame(
        {
            "external_id": ["s1", "s1", "s1"],
            "time": pd.to_datetime(["2026-01-01T10:00Z", "2026-01-01T11:00Z", "2026-01-01T11:00Z"]),
            "metric": ["pm25", "pm25", "pm10"],
            "value": [12.5, 14.0, 20.0],
            "unit": ["µg/m³"] * 3,
        }
    )


def test_round_trip_and_idempotent_load(any_engine):
    sid = upsert_source(
        any_engine,
        "glasgow-air",
        "sensor_community",
        SourceMeta(
            publisher="Sensor.Community",
            licence="ODbL-1.0",
            attribution="© Sensor.Community",
            url="https://sensor.community",
        ),
    )
    ids = upsert_features(any_engine, sid, _features())
    assert ids.added == 2
    assert upsert_observations(any_engine, ids, _obs()) == 3
    # The same payload again adds nothing.
    ids2 = upsert_features(any_engine, sid, _features())
    assert ids2.added == 0 and ids2 == ids
    assert upsert_observations(any_engine, ids2, _obs()) == 0
    with any_engine.connect() as c:
        src = c.execute(select(Source)).one()
        assert (src.publisher, src.licence) == ("Sensor.Community", "ODbL-1.0")
        f = c.execute(select(Feature).where(Feature.external_id == "s1")).one()
        assert (round(f.lat, 2), round(f.lon, 2)) == (55.86, -4.25)
        assert f.h3_r9 is not None and f.properties == {"sensor": "SDS011"}
        rows = c.execute(
            select(Observation.time, Observation.metric, Observation.value).order_by(
                Observation.time, Observation.metric
            )
        ).all()
    assert [(r.time, r.metric, r.value) for r in rows] == [
        (datetime(2026, 1, 1, 10), "pm25", 12.5),
        (datetime(2026, 1, 1, 11), "pm10", 20.0),
        (datetime(2026, 1, 1, 11), "pm25", 14.0),
    ]


def test_unknown_features_and_bad_values_are_dropped(any_engine):
    sid = upsert_source(any_engine, "x", "csv")
    ids = upsert_features(any_engine, sid, _features())
    df = pd.DataFrame(
        {
            "external_id": ["s1", "nope", "s1"],
            "time": ["2026-01-01T10:00Z"] * 3,
            "metric": ["pm25", "pm25", "no2"],
            "value": [1.0, 2.0, float("nan")],
            "unit": ["µg/m³"] * 3,
        }
    )
    assert upsert_observations(any_engine, ids, df) == 1


def test_failure_keeps_last_success(any_engine):
    sid = upsert_source(any_engine, "x", "csv")
    record_success(any_engine, sid, at=datetime(2026, 1, 1))
    record_failure(any_engine, sid, "x: HTTP 500 from upstream", at=datetime(2026, 1, 2))
    with any_engine.connect() as c:
        s = c.execute(select(Source)).one()
    assert s.last_success_at == datetime(2026, 1, 1) and s.last_error == "x: HTTP 500 from upstream"


def test_sqlite_store_uses_wal(engine):
    with engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert c.scalar(select(func.count()).select_from(Source)) == 0
