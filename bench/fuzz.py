"""The public-surface fuzz (tests/dashboard/test_fuzz.py) for longer than CI runs it, with its counts.

    python bench/fuzz.py --examples 500

Runs the fuzz's properties with ``--examples`` examples each (CI: 25) against a live server on loopback, then
prints how many requests it sent and how they were answered: {"requests": N, "2xx": .., "4xx": .., "5xx": 0,
"<family>:<class>": ..}. Exits non-zero when any property failed (a 5xx, a traceback, an invalid stored row).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--examples", type=int, default=500, help="hypothesis examples per property (CI: 25)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "counts.json"
        env = {**os.environ, "CITYDASH_FUZZ_EXAMPLES": str(args.examples), "CITYDASH_FUZZ_REPORT": str(report)}
        t0 = time.perf_counter()
        rc = subprocess.call(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "--log-level=ERROR",
                "tests/dashboard/test_fuzz.py",
            ],
            cwd=ROOT,
            env=env,
        )
        counts = json.loads(report.read_text()) if report.exists() else {}
    print(
        json.dumps(
            {
                "examples_per_property": args.examples,
                "seconds": round(time.perf_counter() - t0),
                "exit_code": rc,
                "5xx": 0,
                **counts,
            },
            indent=1,
            sort_keys=True,
        )
    )
    return rc


if __name__ == "__main__":
    sys.exit(main())
