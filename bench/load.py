"""Load: N simulated citizens against `gunicorn -w 4` on loopback, on SQLite and on PostgreSQL.

    python bench/load.py [--store sqlite|postgresql|both] [--citizens 200] [--seconds 60] [--think 0]

Each citizen opens the home page as a browser does (the HTML shell, then the router callback that renders the
page), again and again (``--think`` seconds between visits, exponentially distributed; 0: back to back).
Prints throughput, p50 and p99 latency per request kind as JSON.

Comments are not part of this load yet: the citizens' comment paths (the feedback panel's callback, Open311
POST) are being built on other branches; the figures here are for browsing only.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._serve import Server, Stats, crowd, fresh_store  # noqa: E402


def run(kind: str, citizens: int, seconds: float, think: float, workers: int) -> dict:
    with fresh_store(kind) as url:
        srv = Server(url, workers=workers)
        try:
            startup = srv.start()
            asyncio.run(crowd(srv.base, 10, 5, 0, Stats()))  # warm every worker's imports and caches
            stats = Stats()
            took = asyncio.run(crowd(srv.base, citizens, seconds, think, stats))
            return {"store": kind, "workers": workers, "citizens": citizens, "seconds": round(took, 1),
                    "think_s": think, "first_start_s": round(startup, 1), "requests": stats.report(took)}
        finally:
            srv.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--store", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--citizens", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--think", type=float, default=0.0)
    ap.add_argument("--workers", type=int, default=4)
    a = ap.parse_args()
    for kind in (["sqlite", "postgresql"] if a.store == "both" else [a.store]):
        print(json.dumps(run(kind, a.citizens, a.seconds, a.think, a.workers)), flush=True)


if __name__ == "__main__":
    main()
