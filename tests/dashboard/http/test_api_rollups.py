"""/api/v1/observations over a long range answers from the rollups, and says so ("resolution", "note",
X-Resolution): each row a feature's mean, min, max and count over a UTC day or month."""

import csv
import io

import pandas as pd
import pytest
from sqlalchemy import delete, select

from data_sources.store.models import Observation
from tests.support import DEMO_END

API = "/api/v1/observations"


def _raw(engine, metric="no2"):
    with engine.connect() as c:
        rows = c.execute(
            select(Observation.feature_id, Observation.time, Observation.value).where(Observation.metric == metric)
        ).all()
    return pd.DataFrame(rows, columns=["feature_id", "time", "value"])


def _all(client, q):
    rows, url, first = [], API, True
    while url:
        body = client.get(url, query_string=q if first else None).get_json()
        rows += body["observations"]
        url, first = body["next"] and body["next"].replace("http://localhost", ""), False
    return body, rows


def _means(raw: pd.DataFrame, resolution: str) -> dict:
    """What the API should answer at an hourly, daily or monthly ``resolution``: per (feature, bucket start as
    ISO 8601 UTC), the mean, min, max and count of the raw readings."""
    t = raw["time"]
    if resolution == "month":
        bucket = t.dt.to_period("M").dt.to_timestamp()
    else:
        bucket = t.dt.floor({"hour": "h", "day": "D"}[resolution])
    g = raw.groupby([raw["feature_id"], bucket])["value"]
    return {(int(f), b.strftime("%Y-%m-%dT%H:%M:%SZ")): (v.mean(), v.min(), v.max(), len(v)) for (f, b), v in g}


def _answered(rows: list[dict]) -> dict:
    return {(o["feature_id"], o["time"]): (o["value"], o["min"], o["max"], o["count"]) for o in rows}


def _assert_means(got: dict, want: dict) -> None:
    for k, (mean, lo, hi, n) in want.items():
        assert got[k] == (pytest.approx(mean), lo, hi, n)


def test_five_years_are_monthly_means_from_the_rollups(client, demo_engine):
    want = _means(_raw(demo_engine), "month")
    with demo_engine.begin() as c:  # the readings are gone; the rollups stay
        c.execute(delete(Observation).where(Observation.metric == "no2"))
    q = {"metric": "no2", "start": "2021-11-16T00:00:00Z", "end": DEMO_END.strftime("%Y-%m-%dT%H:%M:%SZ")}
    r = client.get(API, query_string=q)
    assert r.status_code == 200 and r.headers["X-Resolution"] == "month"
    body, rows = _all(client, q)
    assert body["resolution"] == "month" and body["note"].startswith("monthly means per feature")
    got = _answered(rows)
    assert got.keys() == want.keys() and len(got) > 0
    _assert_means(got, want)
    assert client.get(API, query_string={**q, "resolution": "raw"}).get_json()["observations"] == []
    text = client.get(API, query_string={**q, "format": "csv"}).data.decode()
    assert next(csv.reader(io.StringIO(text))) == [
        "feature_id",
        "time",
        "metric",
        "value",
        "unit",
        "min",
        "max",
        "count",
    ]


@pytest.mark.parametrize(
    "start, resolution",
    [("2026-11-10T00:00:00Z", "raw"), ("2026-10-01T00:00:00Z", "day"), ("2025-01-01T00:00:00Z", "month")],
)
def test_the_resolution_follows_the_range(client, start, resolution):
    body = client.get(
        API, query_string={"metric": "pm25", "start": start, "end": "2026-11-16T09:00:00Z", "limit": 5}
    ).get_json()
    assert body["resolution"] == resolution and len(body["observations"]) == 5
    assert ("count" in body["observations"][0]) == (resolution != "raw")


def test_an_unknown_resolution_is_refused(client):
    r = client.get(API, query_string={"metric": "pm25", "resolution": "week"})
    assert r.status_code == 400 and "resolution must be" in r.get_json()["error"]


@pytest.mark.parametrize(
    "span",
    [
        {"start": "2026-10-01T00:00:00Z", "end": "2026-11-02T00:00:00Z"},  # 32 days
        {"start": "2026-10-01T00:00:00Z"},  # open: every hour to now
        {},
    ],
)
def test_hourly_means_cover_at_most_a_month_per_request(client, span):
    """Hours are grouped from the readings on every page: a long range would hold the database for seconds."""
    r = client.get(API, query_string={"metric": "pm25", "resolution": "hour", **span})
    assert r.status_code == 400 and "at most 31 days" in r.get_json()["error"]
    ok = client.get(
        API,
        query_string={
            "metric": "pm25",
            "resolution": "hour",
            "start": "2026-10-16T09:00:00Z",
            "end": "2026-11-16T09:00:00Z",
        },
    )
    assert ok.status_code == 200 and ok.get_json()["resolution"] == "hour"


def test_hourly_means_come_from_the_readings_and_outlive_them(client, demo_engine):
    """``resolution=hour`` groups the readings by UTC hour (no hour rollup is stored while readings are); once
    retention has removed old readings, the hours kept of them answer the same."""
    from datetime import timedelta

    from data_sources.store.partitions import drop_months_before

    start = DEMO_END.replace(minute=0, second=0, microsecond=0) - timedelta(hours=30)
    q = {
        "metric": "no2",
        "resolution": "hour",
        "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end": DEMO_END.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    raw = _raw(demo_engine)
    raw = raw[(raw["time"] >= start) & (raw["time"] <= DEMO_END)]
    want = _means(raw, "hour")
    body, rows = _all(client, q)
    assert body["resolution"] == "hour" and body["note"].startswith("hourly means per feature")
    got = _answered(rows)
    assert got.keys() == want.keys() and len(got) > 24
    _assert_means(got, want)
    nxt = DEMO_END.replace(day=1) + timedelta(days=32)
    drop_months_before(demo_engine, nxt.replace(day=1).date())  # every reading removed
    assert _raw(demo_engine).empty
    _, again = _all(client, {**q, "limit": 7})  # another query string: nothing answered from a cache
    assert _answered(again) == got


def test_every_resolution_answers_the_same_means_on_both_stores(any_engine, demo_city, tmp_path):
    """Raw, hour, day and month over the same readings, as JSON, on SQLite and PostgreSQL (whose sum of integer
    counts is a numeric: an hourly answer was a 500 there)."""
    import numpy as np

    from dashboard.app import create_app
    from data_sources.config import Settings
    from data_sources.store.db import upsert_features, upsert_observations, upsert_source
    import geopandas as gpd
    from shapely.geometry import Point

    sid = upsert_source(any_engine, "stations", "csv")
    ids = dict(
        upsert_features(
            any_engine,
            sid,
            gpd.GeoDataFrame(
                {"external_id": ["a", "b"], "layer": "air_station", "name": "", "properties": None},
                geometry=[Point(9.0, 48.5), Point(9.01, 48.51)],
                crs="EPSG:4326",
            ),
        )
    )
    rng = np.random.default_rng(4)
    times = pd.date_range("2026-01-30T22:00:00Z", periods=60, freq="30min")
    df = pd.DataFrame(
        {
            "external_id": np.repeat(["a", "b"], len(times)),
            "time": np.tile(times, 2),
            "metric": "pm25",
            "value": rng.gamma(2.0, 5.0, 2 * len(times)).round(2),
            "unit": "µg/m³",
        }
    )
    assert upsert_observations(any_engine, ids, df) == 120
    settings = Settings.from_env({"CITYDASH_DATA_DIR": str(tmp_path), "CITYDASH_SECRET_KEY": "test-secret"})
    client = create_app(city=demo_city, settings=settings, engine=any_engine).server.test_client()
    q = {"metric": "pm25", "start": "2026-01-30T22:00:00Z", "end": "2026-02-02T00:00:00Z"}
    raw = df.assign(feature_id=df["external_id"].map(ids), time=df["time"].dt.tz_convert(None))
    for resolution in ("raw", "hour", "day", "month"):
        r = client.get(API, query_string={**q, "resolution": resolution})
        assert r.status_code == 200, (resolution, r.data[:300])
        rows = r.get_json()["observations"]
        if resolution == "raw":
            assert len(rows) == 120
            continue
        want, got = _means(raw, resolution), _answered(rows)
        assert got.keys() == want.keys(), resolution
        _assert_means(got, want)
        assert all(type(n) is int for _, _, _, n in got.values())
