"""Time and peak memory of `citydash demo --comments N` in a fresh data dir.

python bench/demo_scale.py [N]        # default 1,000,000
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-m", "dashboard.cli", "demo", "--comments", str(n)],
            cwd=ROOT,
            env={**os.environ, "CITYDASH_DATA_DIR": d},
            capture_output=True,
            text=True,
            check=True,
        )
        wall = time.perf_counter() - t0
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        size_mb = (Path(d) / "citydash.sqlite").stat().st_size / 1e6
    counts = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"comments: {counts['comments']:,}  observations: {counts['observations']:,}")
    print(f"wall time: {wall:.1f} s   peak memory: {peak_mb:.0f} MB   SQLite file: {size_mb:.0f} MB")
