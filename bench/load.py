"""Load: N simulated citizens browsing and commenting against `gunicorn -w 4` on loopback, SQLite and PostgreSQL.

    python bench/load.py [--store sqlite|postgresql|both] [--citizens 200] [--seconds 60] [--rate R]
                         [--comment-share 0.5] [--think 0] [--workers 4] [--redis URL]
                         [--servers 2 [--pgbouncer]]

A visit is what a browser does to open a public page (home, air, traffic or cycling: the HTML shell, then the
router callback that renders it); a comment is a press of Send on /report (the real JSON post: validation, rate
limit per citizen, evidence lookup, commit before the answer), at places and in categories that vary. Each
citizen comes from its own address through one trusted proxy hop, as behind nginx.

Without --rate, every citizen acts again as soon as it is answered: the saturation throughput. With --rate R,
the citizens together want R actions a second at random times, and a latency counts from when the action was
wanted: the p50/p99 a citizen sees at that load. --redis URL serves with Redis for rate limits and caches, as a
deployment with several workers must (that Redis database is emptied first). Prints throughput, p50 and p99 per
request kind (and p99 per 10-s window: a queue that builds up shows as rising windows), the cores used by each
part of the machine, and checks that every acknowledged comment is stored exactly once.

--servers N (N > 1) serves with N gunicorn masters of --workers workers each, on different ports behind Debian's
nginx (round robin), sharing the store and the Redis of --redis (required then): the scale-out shape. With
--pgbouncer they reach PostgreSQL through PgBouncer in transaction mode (CITYDASH_PGBOUNCER=true).

Beside the run, a probe (bench._serve.MachineProbe) flushes 8 KB to the store's disk 20 times a second and
times a fixed loop of Python 10 times a second; the report gives, per 10-s window, the slowest flush and the
loop's median CPU time. Every comment waits for a flush before it is acknowledged, and the workers' CPU per
request moves with the loop's: a window whose p99 jumps while the disk stalled or the loop slowed is the
machine's doing, not the software's.
"""

from __future__ import annotations

import sys
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._serve import (
    MachineProbe,
    Server,
    Stats,
    check_comments,
    cli,
    cluster,
    cores_used,
    cpu_seconds,  # noqa: E402
    crowd,
    fresh_store,
    run_crowd,
    store_directory,
)


def run(
    kind: str,
    citizens: int,
    seconds: float,
    think: float,
    comment_share: float,
    workers: int,
    rate: float | None,
    redis: str | None,
    servers: int = 1,
    pgbouncer: bool = False,
) -> dict:
    if redis:
        import redis as redis_client

        redis_client.Redis.from_url(redis).flushdb()
    with fresh_store(kind) as url, ExitStack() as stack:
        t0 = time.monotonic()
        if servers > 1:  # several gunicorn masters behind nginx, each with `workers` workers
            proxy, _, _ = stack.enter_context(
                cluster(url, servers, workers, redis, pgbouncer=pgbouncer and kind == "postgresql")
            )
            base = proxy.base
        else:
            srv = Server(url, workers=workers, redis_url=redis)
            stack.callback(srv.close)
            srv.start()
            base = srv.base
        startup = time.monotonic() - t0
        run_crowd(crowd(base, 10, 5, 0, Stats(), comment_share, run="warm"))  # imports, caches
        stats, acked, tag = Stats(), [], f"b{uuid.uuid4().hex[:6]}"
        with MachineProbe(store_directory(url)) as probe:
            before, start = cpu_seconds(), time.monotonic()
            took = run_crowd(crowd(base, citizens, seconds, think, stats, comment_share, acked, tag, rate))
            cores = cores_used(before, cpu_seconds(), took)
        stack.close()
        return {
            "store": kind,
            "servers": servers,
            "pgbouncer": servers > 1 and pgbouncer and kind == "postgresql",
            "workers": workers,
            "redis": bool(redis),
            "citizens": citizens,
            "rate_wanted": rate,
            "seconds": round(took, 1),
            "think_s": think,
            "comment_share": comment_share,
            "first_start_s": round(startup, 1),
            "requests": stats.report(took),
            "cores": cores,
            "machine": probe.report(start, took),
            "comments": check_comments(url, acked, tag),
        }


if __name__ == "__main__":
    cli(
        __doc__,
        run,
        [
            ("--think", {"type": float, "default": 0.0}),
            ("--comment-share", {"type": float, "default": 0.5}),
            ("--workers", {"type": int, "default": 4}),
            ("--rate", {"type": float, "default": None}),
            ("--redis", {"default": None}),
            ("--servers", {"type": int, "default": 1}),
            ("--pgbouncer", {"action": "store_true"}),
        ],
    )
