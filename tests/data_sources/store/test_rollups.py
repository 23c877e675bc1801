"""Rollups (data_sources/store/rollups.py): after any sequence of imports - new rows, re-imports, re-imports with
some new rows, late rows that land in an old hour, day or month - every daily and monthly rollup, and every
hourly bucket read, equals the aggregate of the stored readings, on SQLite and PostgreSQL; a range read returns
exactly the buckets it overlaps; hours outlive readings that retention removes."""

from datetime import date, datetime, timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import delete, func, select
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


def _read_all(engine, resolution):
    """Every bucket as the reads see it (for hours: grouped from the readings and the hours kept of removed ones)."""
    b = rollups.bucket_rows(engine.dialect.name, resolution)
    with engine.connect() as c:
        rows = c.execute(select(b.c.feature_id, b.c.metric, b.c.bucket, b.c.n, b.c.total, b.c.low, b.c.high)).all()
    df = pd.DataFrame(rows, columns=["feature_id", "metric", "bucket", "n", "total", "low", "high"])
    df["bucket"] = pd.to_datetime(df["bucket"])
    return df.set_index(["feature_id", "metric", "bucket"]).sort_index()


def _assert_rollups_match(engine):
    assert _stored(engine, "hour").empty  # hours are read from the readings while those are stored
    for resolution in rollups.RESOLUTIONS:
        want = _expected(engine, resolution)
        for got in (_read_all(engine, resolution), *([_stored(engine, resolution)] if resolution != "hour" else [])):
            _assert_same(got, want, resolution)


def _assert_same(got, want, resolution):
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
    extra=st.lists(row, max_size=5),
    since=st.integers(0, 60 * 24 * 45),
    span=st.integers(0, 60 * 24 * 45),
    resolution=st.sampled_from(rollups.RESOLUTIONS),
)
def test_rollups_equal_aggregates_of_the_readings(any_engine, batches, reimport, extra, since, span, resolution):
    """``reimport``: the first batch again, with the ``extra`` rows (a re-import that adds some rows, or none)."""
    eng = any_engine
    with eng.begin() as c:
        c.execute(delete(Observation))
        c.execute(delete(ObservationRollup))
        ids = dict(c.execute(select(Feature.external_id, Feature.id)).all())
    if not ids:
        ids = _features(eng)
    for batch in batches + ([batches[0] + extra] if reimport else []):
        before = {res: _stored(eng, res) for res in rollups.STORED}
        added = upsert_observations(eng, ids, _frame(batch))
        _assert_rollups_match(eng)
        if added == 0:  # nothing new: no rollup changed
            for res in rollups.STORED:
                pd.testing.assert_frame_equal(_stored(eng, res), before[res])
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
    before = {res: _stored(eng, res) for res in rollups.STORED}
    assert rollups.rebuild_rollups(eng) == sum(len(b) for b in before.values())
    for res in rollups.STORED:
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
    want = {res: _stored(engine, res) for res in rollups.STORED}
    with engine.begin() as c:
        c.execute(delete(ObservationRollup).where(ObservationRollup.resolution == "month"))
    env = {
        "CITYDASH_DATABASE_URL": sqlite_url,
        "CITYDASH_CITY": str(Path(__file__).resolve().parents[3] / "cities" / "demo.toml"),
        "CITYDASH_DATA_DIR": str(tmp_path),
    }
    r = CliRunner().invoke(cli, ["rollups"], env=env)
    assert r.exit_code == 0, r.output
    assert json.loads(r.output) == {"day": len(want["day"])}
    r = CliRunner().invoke(cli, ["rollups", "--rebuild"], env=env)
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["rollups"] == sum(len(w) for w in want.values())
    for res in rollups.STORED:
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
    assert all(_read_all(any_engine, res).empty for res in rollups.RESOLUTIONS)


def test_hours_days_and_months_outlive_the_readings_retention_removes(any_engine):
    """Retention removes whole old months of readings: their hourly, daily and monthly means stay readable, the
    same as before, and an import that follows still adds up right."""
    from data_sources.store.partitions import drop_months_before

    ids = _features(any_engine)
    rows = [
        (f, m, minute, (minute % 89) / 3)
        for f in FEATURES
        for m in ("pm25", "no2")
        for minute in range(0, 60 * 24 * 9, 37)
    ]
    upsert_observations(any_engine, ids, _frame(rows))  # 29 Jan to 7 Feb 2024
    before = {res: _read_all(any_engine, res) for res in rollups.RESOLUTIONS}
    assert drop_months_before(any_engine, date(2024, 2, 1))[
        "deleted" if any_engine.dialect.name == "sqlite" else "dropped"
    ]
    with any_engine.connect() as c:
        assert c.execute(select(func.min(Observation.time))).scalar_one() >= datetime(2024, 2, 1)
    for res in rollups.RESOLUTIONS:
        _assert_same(_read_all(any_engine, res), before[res], res)
    # Late readings for a removed hour add to the hour kept of it, its day and its month.
    late = [("a", "pm25", 30, 1000.0), ("a", "pm25", 31, -1000.0)]  # 29 Jan 00:30, 00:31
    assert upsert_observations(any_engine, ids, _frame(late)) == 2
    hour = _read_all(any_engine, "hour").loc[(ids["a"], "pm25", pd.Timestamp(BASE))]
    old = before["hour"].loc[(ids["a"], "pm25", pd.Timestamp(BASE))]
    assert (hour["n"], hour["low"], hour["high"]) == (old["n"] + 2, -1000.0, 1000.0)
    assert hour["total"] == pytest.approx(old["total"])
    day = _stored(any_engine, "day").loc[(ids["a"], "pm25", pd.Timestamp(BASE))]
    assert (day["n"], day["high"]) == (before["day"].loc[(ids["a"], "pm25", pd.Timestamp(BASE))]["n"] + 2, 1000.0)


def test_migration_0903_drops_the_hours_readings_still_give_and_keeps_the_others(any_url):
    """Stores of 0802 kept every hour: 0903 removes the hour rows whose readings are stored (they are computed
    from them), keeps those of readings already removed, and the way back computes them again."""
    from alembic import command

    from data_sources.store.db import alembic_config, make_engine, migrate

    eng = make_engine(any_url)
    migrate(eng, "0803")
    ids = _features(eng)
    rows = [(f, "pm25", m, float(m % 13)) for f in FEATURES for m in range(0, 60 * 24 * 5, 50)]
    with eng.begin() as c:  # as the code of 0802 wrote them: readings, and every hour, day and month
        c.execute(
            Observation.__table__.insert(),
            [
                {"feature_id": ids[f], "time": BASE + timedelta(minutes=m), "metric": k, "value": v, "unit": "x"}
                for f, k, m, v in rows
            ],
        )
    with eng.begin() as c:
        command.downgrade(alembic_config(c), "0801")  # 0802's upgrade fills every resolution from the readings
    migrate(eng, "0803")
    with eng.begin() as c:  # the readings of the first day were removed by retention before 0903
        c.execute(delete(Observation).where(Observation.time < BASE + timedelta(days=1)))
    kept = _stored(eng, "hour")
    kept = kept[kept.index.get_level_values("bucket") < BASE + timedelta(days=1)]
    days = _stored(eng, "day")
    migrate(eng)
    pd.testing.assert_frame_equal(_stored(eng, "hour"), kept)  # only the hours of removed readings
    pd.testing.assert_frame_equal(_stored(eng, "day"), days)
    n_read = len(_read_all(eng, "hour"))  # hours of the readings, and the hours kept
    assert len(kept) > 0 and n_read == len(_expected(eng, "hour")) + len(kept)
    with eng.begin() as c:
        command.downgrade(alembic_config(c), "0803")
    assert len(_stored(eng, "hour")) == n_read  # every hour stored again
    eng.dispose()


def test_two_imports_at_once_of_overlapping_rows_count_each_reading_once(any_engine):
    """Two importers write partly the same readings at the same time (a refresh and a ``citydash import``): each
    adds to the rollups only the rows it inserted itself, so every reading counts once, and neither fails."""
    from concurrent.futures import ThreadPoolExecutor

    ids = _features(any_engine)
    rows = [
        (f, k, minute, (minute % 71) / 7)
        for f in FEATURES
        for k in ("pm25", "no2")
        for minute in range(0, 60 * 24 * 40, 20)
    ]
    first, second = _frame(rows[: len(rows) * 2 // 3]), _frame(rows[len(rows) // 3 :])
    for _ in range(3):
        with any_engine.begin() as c:
            c.execute(delete(Observation))
            c.execute(delete(ObservationRollup))
        with ThreadPoolExecutor(2) as pool:
            added = list(pool.map(lambda df: upsert_observations(any_engine, ids, df), [first, second]))
        assert sum(added) == len(rows)
        _assert_rollups_match(any_engine)
