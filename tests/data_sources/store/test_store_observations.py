"""upsert_observations binds rows straight to the driver: its rows must be the ORM's rows, to the byte."""

import os
from datetime import datetime

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from data_sources.store.models import Feature, Observation
from data_sources.store.db import upsert_observations, upsert_source


def _feature(engine):
    sid = upsert_source(engine, "s", "csv")
    with Session(engine) as s:
        f = Feature(
            source_id=sid,
            layer="air_station",
            external_id="a",
            name="A",
            geometry='{"type":"Point","coordinates":[0,0]}',
            lat=0,
            lon=0,
            properties={},
        )
        s.add(f)
        s.commit()
        return f.id


def test_rows_written_by_the_orm_are_recognised_as_the_same(engine):
    fid = _feature(engine)
    with Session(engine) as s:
        s.add(Observation(feature_id=fid, time=datetime(2024, 1, 15, 8, 0, 0), metric="pm25", value=7.0, unit="µg/m³"))
        s.commit()
    df = pd.DataFrame(
        {
            "external_id": ["a", "a"],
            "time": ["2024-01-15T08:00:00Z", "2024-01-15T09:00:00+01:00"],
            "metric": ["pm25", "pm10"],
            "value": [7.0, 12.5],
            "unit": ["µg/m³"] * 2,
        }
    )
    # the pm25 row is the one already stored; the pm10 row at 08:00 UTC is new
    assert upsert_observations(engine, {"a": fid}, df) == 1
    with Session(engine) as s:
        rows = s.execute(
            select(Observation.metric, Observation.time, Observation.value).order_by(Observation.metric)
        ).all()
    assert rows == [("pm10", datetime(2024, 1, 15, 8, 0), 12.5), ("pm25", datetime(2024, 1, 15, 8, 0), 7.0)]


def test_unknown_features_and_non_numbers_are_dropped(engine):
    fid = _feature(engine)
    df = pd.DataFrame(
        {
            "external_id": ["a", "zz", "a"],
            "time": ["2024-01-15T08:00:00Z"] * 3,
            "metric": ["pm25", "pm25", "no2"],
            "value": [1.0, 2.0, "n/a"],
            "unit": ["µg/m³"] * 3,
        }
    )
    assert upsert_observations(engine, {"a": fid}, df) == 1


@pytest.fixture
def pg_engine():
    url = os.environ.get("CITYDASH_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("CITYDASH_TEST_POSTGRES_URL not set")
    from sqlalchemy import text

    from data_sources.store.db import make_engine, open_store

    with make_engine(url).begin() as conn:  # a throw-away test database: start from nothing
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    return open_store(url)


@pytest.mark.postgres
def test_postgresql_same_rows_as_the_orm_and_import_twice(pg_engine, fixture_path):
    test_rows_written_by_the_orm_are_recognised_as_the_same(pg_engine)
    from data_sources.refresh import import_file

    path = str(fixture_path("sensor_community/2024-01-15_sds011_sensor_18001.csv"))
    assert import_file(pg_engine, "sensor_community", path)["observations"] == 6
    assert import_file(pg_engine, "sensor_community", path)["observations"] == 0
