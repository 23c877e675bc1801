"""Benchmark: import 1,000,000 observations through the same parse and upsert path as `citydash import`.

Writes a Sensor.Community archive CSV (the daily-archive format: ``;``-separated, P1/P2 columns) with
100 locations x 5,000 readings = 500,000 rows, i.e. 1,000,000 PM10 + PM2.5 observations, into a temporary
folder, imports it into a fresh SQLite store with ``data_sources.refresh.import_file`` and prints the seconds,
the peak resident memory (``resource.getrusage``) and the rows added. Goal on a 2-core machine: <= 20 s, <= 1 GB.

    /work/venv/bin/python bench/import_observations.py [--rows 500000] [--keep DIR] [--url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=500_000, help="archive rows (each gives 2 observations)")
    ap.add_argument("--keep", default=None, help="folder to keep the CSV and the store in")
    ap.add_argument("--url", default=None, help="store URL instead of a fresh SQLite file (an empty test database)")
    args = ap.parse_args()

    from data_sources.refresh import import_file
    from data_sources.store.db import open_store

    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="citydash-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    csv = folder / "archive.csv"
    write_archive(csv, args.rows)
    engine = open_store(args.url or f"sqlite:///{folder / 'bench.sqlite'}")

    t0 = time.perf_counter()
    counts = import_file(engine, "sensor_community", str(csv))
    seconds = time.perf_counter() - t0
    t1 = time.perf_counter()
    again = import_file(engine, "sensor_community", str(csv))
    seconds_again = time.perf_counter() - t1
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(
        json.dumps(
            {
                "rows_in_csv": args.rows,
                "observations_added": counts["observations"],
                "features_added": counts["features"],
                "seconds": round(seconds, 2),
                "second_import_added": again["observations"],
                "second_import_seconds": round(seconds_again, 2),
                "peak_rss_mb": round(peak_mb, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
