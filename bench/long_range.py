"""/air over five years, whole city and one station: server time from the rollups against the raw-rows query.

    python bench/long_range.py --url URL [--years 5] [--reps 7] [--raw-reps 3]
    python bench/long_range.py --fill-days 1826 --stations 20 [--url URL]   # fills a history first

Takes an existing store (``--url``; the lead runs it on the 50 M-row PostgreSQL history of ``citydash demo``'s
generator) or, with ``--fill-days``/``--stations``, writes that many days of hourly PM2.5 for that many stations
through ``upsert_observations`` (plain inserts; the rollups follow, as on every import) into ``--url`` or a fresh
SQLite file. A store whose readings were written around ``upsert_observations`` (no rollups yet) gets
``rebuild_rollups`` first, timed. Then, each ``--reps`` times with a different end day (no cache hit):

* page: GET /air?metric=pm25&from=...&to=... on the real app (Flask test client, in process, no network): the
  server-rendered first paint with its summary and tables, from monthly rollups;
* city_rollups / city_raw: the page's data (the city series by month and the district means) from the monthly
  rollups, and the same from every raw reading (the query the page ran before the rollups);
* station_rollups / station_raw: one station's monthly means, from the rollups and from its raw readings.

Prints one JSON object (medians and max in ms, row counts). Goal (issue 20): page <= 300 ms at 50 M readings.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select

from data_sources.store import queries, rollups
from data_sources.store.db import open_store, upsert_observations, upsert_source
from data_sources.store.models import Feature, Observation, ObservationRollup


def fill(url: str, days: int, stations: int, end: datetime, seed: int = 1) -> int:
    """``days`` of hourly PM2.5 ending at ``end`` for ``stations`` new stations, a month per batch."""
    import geopandas as gpd
    from shapely.geometry import Point

    from data_sources.store.db import upsert_features

    eng = open_store(url)
    sid = upsert_source(eng, "bench-long-range", "csv")
    names = [f"lr-{i}" for i in range(stations)]
    gdf = gpd.GeoDataFrame(
        {
            "external_id": names,
            "layer": "air_station",
            "name": names,
            "properties": [{} for _ in names],
        },
        geometry=[Point(9.0 + i * 0.001, 48.5) for i in range(stations)],
        crs="EPSG:4326",
    )
    ids = upsert_features(eng, sid, gdf)
    rng = np.random.default_rng(seed)
    start = end - timedelta(days=days)
    added, t0 = 0, start
    while t0 < end:
        t1 = min(t0 + timedelta(days=31), end)
        hours = pd.date_range(t0, t1, freq="h", inclusive="left")
        n = len(hours)
        season = 8 * np.cos(2 * np.pi * (hours.day_of_year.to_numpy() / 365.25))
        daily = 4 * np.sin(2 * np.pi * hours.hour.to_numpy() / 24)
        frames = [
            pd.DataFrame(
                {
                    "external_id": name,
                    "time": hours,
                    "metric": "pm25",
                    "value": np.clip(12 + season + daily + rng.normal(0, 4, n), 0.5, None).round(1),
                    "unit": "µg/m³",
                }
            )
            for name in names
        ]
        added += upsert_observations(eng, ids, pd.concat(frames, ignore_index=True))
        print(f"bench: filled to {t1:%Y-%m-%d}, {added:,} readings", file=sys.stderr)
        t0 = t1
    eng.dispose()
    return added


def timed(fn: Callable[[datetime], None], reps: list[datetime]) -> dict:
    ms = []
    for arg in reps:
        t = time.perf_counter()
        fn(arg)
        ms.append((time.perf_counter() - t) * 1000)
    return {"median_ms": round(statistics.median(ms), 1), "max_ms": round(max(ms), 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="store URL (default: a fresh SQLite file, with --fill-days)")
    ap.add_argument("--fill-days", type=int, default=0, help="write this many days of hourly history first")
    ap.add_argument("--stations", type=int, default=20, help="stations to fill (with --fill-days)")
    ap.add_argument("--years", type=float, default=5.0, help="the range shown")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument(
        "--raw-reps",
        type=int,
        default=3,
        help="times to run the raw-rows query (0: skip it; at 50 M rows it reads every reading of the metric)",
    )
    a = ap.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="citydash-long-range-")
    url = a.url or f"sqlite:///{tmp.name}/citydash.sqlite"
    out: dict = {"store": url.split(":", 1)[0]}
    if a.fill_days:
        t = time.perf_counter()
        end = datetime(2026, 11, 16)
        out["filled_readings"] = fill(url, a.fill_days, a.stations, end)
        out["fill_s"] = round(time.perf_counter() - t, 1)
    elif not a.url:
        raise SystemExit("give --url, or --fill-days to fill a fresh store")
    eng = open_store(url)
    with eng.connect() as conn:
        latest = conn.scalar(select(func.max(Observation.time)).where(Observation.metric == "pm25"))
        have = conn.scalar(
            select(func.count()).select_from(ObservationRollup).where(ObservationRollup.resolution == "month")
        )
        out["readings"] = conn.scalar(select(func.count()).select_from(Observation))
    if latest is None:
        raise SystemExit("no pm25 readings in the store")
    if not have:
        t = time.perf_counter()
        out["rollups_rebuilt"] = rollups.rebuild_rollups(eng)
        out["rebuild_s"] = round(time.perf_counter() - t, 1)
    span = timedelta(days=round(365.25 * a.years))
    ends = [latest - timedelta(days=i) for i in range(a.reps)]
    station = queries.features(eng, "air_station")["id"].iloc[0]
    with eng.connect() as conn:
        out["station_readings"] = conn.scalar(
            select(func.count()).select_from(Observation).where(Observation.feature_id == int(station))
        )

    from dashboard.ui import indicators

    def city(end: datetime, resolution: str) -> None:
        obs = queries.observations_by_district(eng, "pm25", end - span, end, layer="air_station", resolution=resolution)
        indicators.city_series(obs, "median", "MS")
        indicators.district_values(obs, queries.districts(eng))
        out.setdefault(f"rows_{resolution}", len(obs))

    def one(end: datetime, resolution: str) -> None:
        obs = queries.observations(eng, "pm25", end - span, end, feature_ids=[int(station)], resolution=resolution)
        indicators.city_series(obs, "mean", "MS")

    out["city_rollups"] = timed(lambda e: city(e, "month"), ends)
    out["station_rollups"] = timed(lambda e: one(e, "month"), ends)
    if a.raw_reps:
        out["station_raw"] = timed(lambda e: one(e, "raw"), ends[: a.raw_reps])
        out["city_raw"] = timed(lambda e: city(e, "raw"), ends[: a.raw_reps])

    from dashboard.app import create_app
    from data_sources.config import Settings, load_city

    settings = Settings.from_env(
        {"CITYDASH_DATABASE_URL": url, "CITYDASH_DATA_DIR": tmp.name, "CITYDASH_SECRET_KEY": "bench"}
    )
    app = create_app(city=load_city(settings.city), settings=settings, engine=eng)
    client = app.server.test_client()

    def page(end: datetime) -> None:
        q = f"?metric=pm25&from={(end - span).date().isoformat()}&to={end.date().isoformat()}"
        r = client.get("/air" + q)
        assert r.status_code == 200 and b"Monthly means" in r.data, (r.status_code, r.data[:300])

    client.get("/air")  # the app's first request (its start-up work), not timed
    out["page"] = timed(page, ends)
    out["years"] = a.years
    print(json.dumps(out))
    eng.dispose()


if __name__ == "__main__":
    main()
