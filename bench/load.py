"""Load: N simulated citizens browsing and commenting against `gunicorn -w 4` on loopback, SQLite and PostgreSQL.

    python bench/load.py [--store sqlite|postgresql|both] [--citizens 200] [--seconds 60] [--think 0]
                         [--comment-share 0.5] [--workers 4]

A visit is what a browser does to open the home page (the HTML shell, then the router callback that renders
it); a comment is a press of Send on /report (the real callback: validation, rate limit per citizen, commit
before the answer). Each citizen comes from its own address through one trusted proxy hop, as behind nginx.
Prints throughput, p50 and p99 per request kind, and checks that every acknowledged comment is stored once.
"""
from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._serve import Server, Stats, check_comments, cli, crowd, fresh_store  # noqa: E402


def run(kind: str, citizens: int, seconds: float, think: float, comment_share: float, workers: int) -> dict:
    with fresh_store(kind) as url:
        srv = Server(url, workers=workers)
        try:
            startup = srv.start()
            asyncio.run(crowd(srv.base, 10, 5, 0, Stats(), comment_share, run="warm"))  # imports, caches
            stats, acked, tag = Stats(), [], f"b{uuid.uuid4().hex[:6]}"
            took = asyncio.run(crowd(srv.base, citizens, seconds, think, stats, comment_share, acked, tag))
        finally:
            srv.stop()
        return {"store": kind, "workers": workers, "citizens": citizens, "seconds": round(took, 1), "think_s": think,
                "comment_share": comment_share, "first_start_s": round(startup, 1), "requests": stats.report(took),
                "comments": check_comments(url, acked, tag)}


if __name__ == "__main__":
    cli(__doc__, run, [("--think", {"type": float, "default": 0.0}), ("--comment-share", {"type": float, "default": 0.5}),
                       ("--workers", {"type": int, "default": 4})])
