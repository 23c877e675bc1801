"""Benchmark: import 1,000,000 observations, the store's write path against SQLAlchemy's plain executemany.

Three measurements per store (SQLite, and PostgreSQL with ``--url``), each into a fresh store, printed side by
side as JSON lines:

* ``upsert``: ``data_sources.store.db.upsert_observations`` (COPY + INSERT ... ON CONFLICT on PostgreSQL, one
  executemany of tuples on SQLite) for a DataFrame of ``--rows`` observations (100 stations, hourly), then the same
  frame again (idempotent: adds 0);
* ``executemany``: the same rows through SQLAlchemy's ``conn.execute(insert(...).on_conflict_do_nothing(),
  list_of_dicts)`` (the plain path it replaces);
* ``sensor_community`` and ``csv``: a whole ``citydash import`` of a file (read, parse, upsert): a Sensor.Community
  archive CSV (``;``-separated, P1/P2 columns, ``--rows``/2 lines) and a ``csv``-kind table of ``--rows`` lines.

Each line gives the seconds, the rows added, and the peak resident memory of a child process that did only that
measurement. Goal on a 2-core machine: 1,000,000 observations <= 15 s on PostgreSQL, <= 12 s on SQLite, <= 1 GB.

    /work/venv/bin/python bench/import_observations.py [--rows 1000000] [--url postgresql+psycopg://.../empty_db]
        [--only upsert,executemany,sensor_community,csv] [--no-sqlite]

``--url`` names an empty database that each measurement empties (its observations, features and sources) first.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def write_archive(path: Path, rows: int, locations: int = 100, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    per = rows // locations
    loc = np.repeat(np.arange(locations), per)
    start = np.datetime64("2024-01-01T00:00:00")
    # one reading every ~150 s per sensor, as the archive has
    t = start + (np.tile(np.arange(per), locations) * 150 + rng.integers(0, 5, per * locations)).astype(
        "timedelta64[s]"
    )
    df = pd.DataFrame(
        {
            "sensor_id": 20000 + loc,
            "sensor_type": "SDS011",
            "location": 9000 + loc,
            "lat": np.round(55.80 + loc * 0.001, 3),
            "lon": np.round(-4.30 + loc * 0.001, 3),
            "timestamp": pd.to_datetime(t).strftime("%Y-%m-%dT%H:%M:%S"),
            "P1": np.round(rng.gamma(2.0, 8.0, per * locations), 2),
            "durP1": "",
            "ratioP1": "",
            "P2": np.round(rng.gamma(2.0, 4.0, per * locations), 2),
            "durP2": "",
            "ratioP2": "",
        }
    )
    df.to_csv(path, sep=";", index=False)


def write_csv_table(path: Path, rows: int, locations: int = 100) -> dict[str, Any]:
    """A ``csv``-kind table: one line per reading (station id, lat, lon, time, value); returns its params."""
    rng = np.random.default_rng(2)
    per = rows // locations
    loc = np.repeat(np.arange(locations), per)
    t = np.datetime64("2024-01-01T00:00:00") + np.tile(np.arange(per), locations).astype("timedelta64[h]")
    pd.DataFrame(
        {
            "station": "st" + pd.Series(loc).astype(str),
            "lat": np.round(55.80 + loc * 0.001, 4),
            "lon": np.round(-4.30 + loc * 0.001, 4),
            "time": pd.to_datetime(t).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "no2": np.round(rng.gamma(2.0, 10.0, per * locations), 1),
        }
    ).to_csv(path, index=False)
    return {
        "id_field": "station",
        "lat_field": "lat",
        "lon_field": "lon",
        "time_field": "time",
        "values": {"no2": "no2"},
        "units": {"no2": "µg/m³"},
        "layer": "air_station",
    }


def observations_frame(rows: int, stations: int = 100) -> pd.DataFrame:
    """``rows`` hourly observations of ``stations`` stations (external ids "b0".."b99"), two metrics."""
    rng = np.random.default_rng(3)
    hours = rows // (stations * 2)
    times = pd.date_range("2023-01-01", periods=hours, freq="h", tz="UTC")
    parts = []
    for metric in ("pm25", "pm10"):
        parts.append(
            pd.DataFrame(
                {
                    "external_id": np.repeat([f"b{i}" for i in range(stations)], hours),
                    "time": np.tile(times, stations),
                    "metric": metric,
                    "value": rng.gamma(2.0, 6.0, hours * stations).round(2),
                    "unit": "µg/m³",
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def _fresh(url: str) -> Any:
    from sqlalchemy import delete

    from data_sources.store.db import open_store
    from data_sources.store.models import Observation, Source

    engine = open_store(url)
    with engine.begin() as conn:
        conn.execute(delete(Observation))
        conn.execute(delete(Source))
    return engine


def _stations(engine: Any, n: int = 100) -> dict[str, int]:
    import geopandas as gpd
    from shapely.geometry import Point

    from data_sources.store.db import upsert_features, upsert_source

    sid = upsert_source(engine, "bench", "csv")
    gdf = gpd.GeoDataFrame(
        {"external_id": [f"b{i}" for i in range(n)], "layer": "air_station", "name": "", "properties": None},
        geometry=[Point(-4.3 + i * 0.001, 55.8) for i in range(n)],
        crs="EPSG:4326",
    )
    return dict(upsert_features(engine, sid, gdf))


def _executemany(engine: Any, ids: dict[str, int], df: pd.DataFrame) -> int:
    """The plain SQLAlchemy path: a list of dicts through conn.execute(insert ... on conflict do nothing)."""
    from sqlalchemy import func, select

    from data_sources.store.db import _insert_stmt, observation_frame
    from data_sources.store.models import Observation

    frame = observation_frame(ids, df)
    rows = frame.assign(time=frame["time"].dt.to_pydatetime()).to_dict("records")
    with engine.begin() as conn:
        before = conn.scalar(select(func.count()).select_from(Observation))
        stmt = _insert_stmt(conn, Observation.__table__).on_conflict_do_nothing(
            index_elements=["feature_id", "metric", "time"]
        )
        for i in range(0, len(rows), 20_000):
            conn.execute(stmt, rows[i : i + 20_000])
        return conn.scalar(select(func.count()).select_from(Observation)) - before


def _measure(what: str, url: str, rows: int, folder: str) -> dict[str, Any]:
    """One measurement in this process (run as a child: its own peak memory)."""
    from data_sources.refresh import import_file
    from data_sources.store.db import upsert_observations

    engine = _fresh(url)
    line: dict[str, Any] = {"store": engine.dialect.name, "path": what}
    if what in ("upsert", "executemany"):
        ids = _stations(engine)
        df = observations_frame(rows)
        t0 = time.perf_counter()
        line["added"] = upsert_observations(engine, ids, df) if what == "upsert" else _executemany(engine, ids, df)
        line["seconds"] = round(time.perf_counter() - t0, 2)
        t1 = time.perf_counter()
        line["again_added"] = (
            upsert_observations(engine, ids, df) if what == "upsert" else _executemany(engine, ids, df)
        )
        line["again_seconds"] = round(time.perf_counter() - t1, 2)
    else:
        path = Path(folder) / f"{what}.csv"
        if what == "sensor_community":
            if not path.exists():
                write_archive(path, rows // 2)
            params: dict[str, Any] = {}
        else:
            params = write_csv_table(path, rows)
        t0 = time.perf_counter()
        counts = import_file(engine, what if what != "csv" else "csv", str(path), params=params)
        line["added"] = counts["observations"]
        line["seconds"] = round(time.perf_counter() - t0, 2)
    line["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux
    engine.dispose()
    return line


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="observations per measurement")
    ap.add_argument("--url", default=None, help="also measure this (empty) PostgreSQL database")
    ap.add_argument("--only", default="upsert,executemany,sensor_community,csv", help="comma-separated paths")
    ap.add_argument("--no-sqlite", action="store_true", help="measure only the --url store")
    ap.add_argument("--one", nargs=3, metavar=("WHAT", "URL", "FOLDER"), help=argparse.SUPPRESS)  # the child
    args = ap.parse_args()
    if args.one:
        print(json.dumps(_measure(args.one[0], args.one[1], args.rows, args.one[2])))
        return

    with tempfile.TemporaryDirectory(prefix="citydash-bench-") as tmp:
        folder = Path(tmp)
        urls = [] if args.no_sqlite else [f"sqlite:///{folder / 'bench.sqlite'}"]
        urls += [args.url] if args.url else []
        for url in urls:
            for what in args.only.split(","):
                for f in folder.glob("bench.sqlite*"):
                    f.unlink()
                # a fresh process per measurement: its own peak memory
                cmd = [sys.executable, __file__, "--rows", str(args.rows), "--one", what, url, str(folder)]
                done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)  # its errors go to our stderr
                failed = json.dumps({"path": what, "url": url, "failed": done.returncode})
                print(done.stdout.strip() or failed, flush=True)


if __name__ == "__main__":
    main()
