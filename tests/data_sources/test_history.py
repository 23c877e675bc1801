"""The history generator: N stations x D days x 24 h x 3 metrics, plausible, with gaps, the same for the same seed."""

import json
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
from click.testing import CliRunner
from sqlalchemy import func, select

from data_sources import history
from data_sources.history import METRICS, generate_history, station_history
from data_sources.store.db import open_store
from data_sources.store.models import Feature, Observation, Source

ROOT = Path(__file__).resolve().parents[2]
END = datetime(2026, 3, 10, 17, 0)


def _rows(engine) -> pd.DataFrame:
    with engine.connect() as c:
        return pd.DataFrame(
            c.execute(
                select(Feature.external_id, Observation.time, Observation.metric, Observation.value)
                .join(Feature, Feature.id == Observation.feature_id)
                .order_by(Feature.external_id, Observation.metric, Observation.time)
            ).all(),
            columns=["external_id", "time", "metric", "value"],
        )


def test_without_gaps_every_station_has_every_hour_of_every_metric_up_to_the_end(any_engine, monkeypatch):
    monkeypatch.setattr(history, "CHUNK_ROWS", 500)  # several writes of a few stations each
    out = generate_history(any_engine, (48.2, 16.3), stations=4, days=3, seed=7, end=END, gaps=False)
    assert out == {"stations": 4, "features": 4, "observations": 4 * 3 * 24 * 3, "hours": 72}
    rows = _rows(any_engine)
    assert len(rows) == 4 * 72 * 3
    assert set(rows["metric"]) == set(METRICS)
    assert rows["time"].max() == END and rows["time"].min() == END - timedelta(hours=71)
    assert rows.groupby(["external_id", "metric"]).size().eq(72).all()
    assert (rows["value"] > 0).all()
    with any_engine.connect() as c:
        assert c.execute(select(Source.kind).where(Source.name == "demo-history")).scalar_one() == "demo"


def test_the_same_seed_gives_the_same_rows_whatever_the_chunking_and_a_second_run_adds_nothing(
    any_engine, tmp_path, monkeypatch
):
    first = generate_history(any_engine, (48.2, 16.3), stations=3, days=20, seed=11, end=END)
    assert 0 < first["observations"] < 3 * 20 * 24 * 3  # gaps: some hours are missing
    assert generate_history(any_engine, (48.2, 16.3), stations=3, days=20, seed=11, end=END)["observations"] == 0
    other = open_store(f"sqlite:///{tmp_path / 'other.sqlite'}")
    monkeypatch.setattr(history, "CHUNK_ROWS", 1)  # one station per write
    again = generate_history(other, (48.2, 16.3), stations=3, days=20, seed=11, end=END)
    assert again["observations"] == first["observations"]
    pd.testing.assert_frame_equal(_rows(other), _rows(any_engine))
    third = station_history(0, "x", END - timedelta(days=20), 480, seed=12)
    assert not third["value"].equals(station_history(0, "x", END - timedelta(days=20), 480, seed=11)["value"])
    other.dispose()


def test_the_series_look_like_air_quality_rush_hours_weekends_and_winter():
    rows = station_history(3, "s", datetime(2025, 1, 1), 24 * 365, seed=5, gaps=False)
    no2 = rows[rows["metric"] == "no2"].set_index("time")["value"]
    by_hour = no2.groupby(no2.index.hour).mean()
    assert by_hour[8] > 1.3 * by_hour[3] and by_hour[18] > 1.2 * by_hour[3]  # rush hours
    weekday = no2[no2.index.day_of_week < 5].mean()
    assert no2[no2.index.day_of_week >= 5].mean() < weekday  # quieter weekends
    pm25 = rows[rows["metric"] == "pm25"].set_index("time")["value"]
    assert pm25[pm25.index.month.isin([12, 1, 2])].mean() > pm25[pm25.index.month.isin([6, 7, 8])].mean()
    pm10 = rows[rows["metric"] == "pm10"]["value"].to_numpy()
    assert (pm10 > pm25.to_numpy()).all()  # PM10 includes PM2.5
    gappy = station_history(3, "s", datetime(2025, 1, 1), 24 * 365, seed=5)
    assert 0.85 * len(rows) < len(gappy) < 0.995 * len(rows)  # single missing hours and outages


def test_the_command_writes_the_history_and_prints_its_counts(tmp_path):
    from dashboard.cli import cli

    url = f"sqlite:///{tmp_path / 'h.sqlite'}"
    env = {"CITYDASH_DATABASE_URL": url, "CITYDASH_CITY": str(ROOT / "cities" / "demo.toml")}
    r = CliRunner().invoke(cli, ["demo-history", "--days", "2", "--stations", "3", "--seed", "1"], env=env)
    assert r.exit_code == 0, r.output
    out = json.loads(r.output.strip().splitlines()[-1])
    assert out["stations"] == 3 and out["hours"] == 48 and 0 < out["observations"] <= 3 * 48 * 3
    engine = open_store(url)
    with engine.connect() as c:
        assert c.execute(select(func.count()).select_from(Observation)).scalar_one() == out["observations"]
    engine.dispose()
