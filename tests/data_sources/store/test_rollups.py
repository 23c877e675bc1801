"""Rollups (data_sources/store/rollups.py): after any sequence of imports - new rows, re-imports, late rows that
land in an old hour, day or month - every hourly, daily and monthly rollup equals the aggregate of the stored
readings, on SQLite and PostgreSQL; a range read returns exactly the buckets it overlaps."""

from datetime import datetime, timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from data_sources.store import rollups
from data_sources.store.db import upsert_observations, upsert_source
from data_sources.store.models import Feature, Observation, ObservationRollup

BASE = datetime(2024, 1, 29)  # a few days before a month's end: batches straddle months
FEATURES = ("a", "b", "c")


def _features(engine, names=FEATURES, outside=()):
    sid = upsert_source(engine, "s", "csv")
    with Session(engine) as s:
        fs = [
            Feature(
                source_id=sid,
                layer="air_station",
                external_id=n,
                name=n,
                geometry='{"type":"Point","coordinates":[0,0]}',
                lat=0,
                lon=0,
                properties={},
                outside=n in outside,
            )
            for n in names
        ]
        s.add_all(fs)
        s.commit()
        return {f.external_id: f.id for f in fs}


def _frame(rows):
    return pd.DataFrame(
        {
            "external_id": [r[0] for r in rows],
            "time": [BASE + timedelta(minutes=r[2]) for r in rows],
            "metric": [r[1] for r in rows],
            "value": [r[3] for r in rows],
            "unit": ["µg/m³"] * len(rows),
        }
    )


def _expected(engine, resolution):
    with engine.connect() as c:
        raw = pd.DataFrame(
            c.execute(select(Observation.feature_id, Observation.metric, Observation.time, Observation.value)).all(),
            columns=["feature_id", "metric", "time", "value"],
        )
    raw["bucket"] = rollups.floor(raw["time"], resolution)
    g = raw.groupby(["feature_id", "metric", "bucket"])["value"]
    return pd.DataFrame({"n": g.count(), "total": g.sum(), "low": g.min(), "high": g.max()}).sort_index()


def _stored(engine, resolution):
    r = ObservationRollup
    with engine.connect() as c:
        rows = c.execute(
            select(r.feature_id, r.metric, r.bucket, r.n, r.total, r.low, r.high).where(r.resolution == resolution)
        ).all()
    df = pd.DataFrame(rows, columns=["feature_id", "metric", "bucket", "n", "total", "low", "high"])
    df["bucket"] = pd.to_datetime(df["bucket"])
    return df.set_index(["feature_id", "metric", "bucket"]).sort_index()


def _assert_rollups_match(engine):
    for resolution in rollups.RESOLUTIONS:
        want, got = _expected(engine, resolution), _stored(engine, resolution)
        assert list(got.index) == list(want.index), resolution
        assert (got["n"].to_numpy() == want["n"].to_numpy()).all(), resolution
        assert got["total"].to_numpy() == pytest.approx(want["total"].to_numpy(), rel=1e-9, abs=1e-6), resolution
        assert (got["low"].to_numpy() == want["low"].to_numpy()).all(), resolution
        assert (got["high"].to_numpy() == want["high"].to_numpy()).all(), resolution


row = st.tuples(
    st.sampled_from(FEATURES),
    st.sampled_from(["pm25", "no2"]),
    st.integers(0, 60 * 24 * 45),  # minutes after BASE: 45 days, two month ends
    st.floats(-1000, 1000, allow_nan=False, allow_infinity=False),
)
batches = st.lists(st.lists(row, min_size=1, max_size=25), min_size=1, max_size=5)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    batches=batches,
    reimport=st.booleans(),
    since=st.integers(0, 60 * 24 * 45),
    span=st.integers(0, 60 * 24 * 45),
    resolution=st.sampled_from(rollups.RESOLUTIONS),
    plan=st.sampled_from([(10, 500), (0, 500), (0, 0)]),
)
def test_rollups_equal_aggregates_of_the_readings(any_engine, batches, reimport, since, span, resolution, plan):
    """``plan``: the thresholds for a feature filter read through another index (``_FEW``) and for none at all
    (``_MAX_IN``), so that each way of recomputing is checked with three features."""
    eng = any_engine
    saved = rollups._FEW, rollups._MAX_IN
    rollups._FEW, rollups._MAX_IN = plan
    try:
        _check_imports(eng, batches, reimport, since, span, resolution)
    finally:
        rollups._FEW, rollups._MAX_IN = saved


def _check_imports(eng, batches, reimport, since, span, resolution):
    with eng.begin() as c:
        c.execute(delete(Observation))
        c.execute(delete(ObservationRollup))
        ids = dict(c.execute(select(Feature.external_id, Feature.id)).all())
    if not ids:
        ids = _features(eng)
    for batch in batches + (batches[:1] if reimport else []):
        upsert_observations(eng, ids, _frame(batch))
        _assert_rollups_match(eng)
    # a range read: every bucket overlapping [lo, hi], each feature's mean over it
    lo, hi = BASE + timedelta(minutes=since), BASE + timedelta(minutes=since + span)
    got = rollups.read(eng, "pm25", resolution, lo, hi)
    want = _expected(eng, resolution).reset_index()
    first = rollups.floor(pd.Series([lo]), resolution).iloc[0]
    want = want[(want["metric"] == "pm25") & (want["bucket"] >= first) & (want["bucket"] <= hi)]
    got = got.sort_values(["feature_id", "time"]).reset_index(drop=True)
    want = want.sort_values(["feature_id", "bucket"]).reset_index(drop=True)
    assert list(zip(got["feature_id"], got["time"])) == list(zip(want["feature_id"], want["bucket"]))
    assert got["value"].to_numpy() == pytest.approx((want["total"] / want["n"]).to_numpy(), rel=1e-9, abs=1e-6)
    assert (got["n"].to_numpy() == want["n"].to_numpy()).all()


def test_rebuild_and_the_migration_fill_the_same_rollups(any_url):
    """Rows stored before the migration get their rollups from it; ``rebuild_rollups`` gives the same."""
    from data_sources.store.db import make_engine, migrate

    eng = make_engine(any_url)
    migrate(eng, "0703")
    ids = _features(eng)
    rows = [(f, "pm25", m, float(m % 97)) for f in FEATURES for m in range(0, 60 * 24 * 40, 170)]
    # written as an older version did, without rollups
    with eng.begin() as c:
        c.execute(
            Observation.__table__.insert(),
            [
                {
                    "feature_id": ids[r[0]],
                    "time": BASE + timedelta(minutes=r[2]),
                    "metric": r[1],
                    "value": r[3],
                    "unit": "x",
                }
                for r in rows
            ],
        )
    migrate(eng)
    _assert_rollups_match(eng)
    before = {res: _stored(eng, res) for res in rollups.RESOLUTIONS}
    assert rollups.rebuild_rollups(eng) == sum(len(b) for b in before.values())
    for res in rollups.RESOLUTIONS:
        pd.testing.assert_frame_equal(_stored(eng, res), before[res])
    eng.dispose()


def test_features_outside_the_city_are_not_read(engine):
    ids = _features(engine, outside=("c",))
    upsert_observations(engine, ids, _frame([(f, "pm25", 10, 5.0) for f in FEATURES]))
    got = rollups.read(engine, "pm25", "day", BASE, BASE + timedelta(days=1))
    assert sorted(got["feature_id"]) == sorted([ids["a"], ids["b"]])


@pytest.mark.parametrize(
    "days, expected", [(1, "raw"), (14, "raw"), (15, "day"), (366, "day"), (367, "month"), (5 * 365, "month")]
)
def test_the_resolution_follows_the_range(days, expected):
    assert rollups.pick_resolution(BASE, BASE + timedelta(days=days)) == expected
    assert rollups.pick_resolution(None, BASE) == "raw"


def test_the_command_line_rebuilds_rollups_lost_by_hand(tmp_path, engine, sqlite_url):
    """``citydash rollups --rebuild`` recomputes what a hand edit (or a restore of readings alone) left out."""
    import json
    from pathlib import Path

    from click.testing import CliRunner

    from dashboard.cli import cli

    ids = _features(engine)
    upsert_observations(engine, ids, _frame([(f, "pm25", m, m / 7) for f in FEATURES for m in range(0, 6000, 45)]))
    want = {res: _stored(engine, res) for res in rollups.RESOLUTIONS}
    with engine.begin() as c:
        c.execute(delete(ObservationRollup).where(ObservationRollup.resolution != "hour"))
    env = {
        "CITYDASH_DATABASE_URL": sqlite_url,
        "CITYDASH_CITY": str(Path(__file__).resolve().parents[3] / "cities" / "demo.toml"),
        "CITYDASH_DATA_DIR": str(tmp_path),
    }
    r = CliRunner().invoke(cli, ["rollups"], env=env)
    assert r.exit_code == 0, r.output
    assert json.loads(r.output) == {"hour": len(want["hour"])}
    r = CliRunner().invoke(cli, ["rollups", "--rebuild"], env=env)
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["rollups"] == sum(len(w) for w in want.values())
    for res in rollups.RESOLUTIONS:
        pd.testing.assert_frame_equal(_stored(engine, res), want[res])


def test_a_deleted_source_takes_its_rollups_along(any_engine):
    """Reloading the demo city deletes its sources: their features' rollups go with the readings (no stale means)."""
    from data_sources.store.models import Source

    ids = _features(any_engine)
    upsert_observations(any_engine, ids, _frame([(f, "pm25", m, 1.0) for f in FEATURES for m in range(0, 3000, 60)]))
    assert len(_stored(any_engine, "month")) == 3
    with any_engine.begin() as c:
        c.execute(delete(Source))
    assert all(_stored(any_engine, res).empty for res in rollups.RESOLUTIONS)
