"""Faults under load: kill -9 of one gunicorn worker, then of the whole server, while citizens browse and
comment; after the restart every acknowledged comment must be in the store exactly once.

    python bench/kill.py [--store sqlite|postgresql|both] [--citizens 200] [--seconds 60] [--writers 4]

Browsing goes through HTTP (gunicorn -w 4 on loopback). Comments go through ``submit_comment`` in separate
writer processes (bench/comment_writer.py) that are killed -9 together with the server; they retry every
comment they had not seen acknowledged, as a citizen's page does. (HTTP comment paths are on other branches.)
Prints JSON: failed requests around each kill, time to serve again, comments acknowledged/stored/duplicated.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._serve import ROOT, Server, Stats, crowd, fresh_store  # noqa: E402

SPAN = 10_000_000  # comment keys per writer: writer w uses k-(w*SPAN)...


class Writer:
    """One commenting process; restartable after kill -9 from the first key it has not seen acknowledged."""

    def __init__(self, url: str, index: int):
        self.url, self.next, self.acked = url, index * SPAN, []
        self.proc: subprocess.Popen | None = None
        self.reader: threading.Thread | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "bench.comment_writer", self.url, str(self.next),
                                      str(self.next + SPAN // 2)], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                                     env={**os.environ, "PYTHONPATH": str(ROOT)})
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.acked.append(line.strip())

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.reader.join()
        if self.acked:  # retry from the first unacknowledged key: it may or may not have been committed
            self.next = int(self.acked[-1][2:]) + 1


def _serving_gap(srv: Server) -> float:
    t0 = time.monotonic()
    srv.wait_healthy(120)
    return time.monotonic() - t0


def run(kind: str, citizens: int, seconds: float, n_writers: int) -> dict:
    from sqlalchemy import func, select

    from data_sources.models import Comment
    from data_sources.store import make_engine

    with fresh_store(kind) as url:
        srv = Server(url, workers=4)
        srv.start()
        engine = make_engine(url)
        with engine.connect() as conn:
            demo_comments = conn.scalar(select(func.count()).select_from(Comment))
        writers = [Writer(url, w + 1) for w in range(n_writers)]
        for w in writers:
            w.start()
        stats = Stats()
        load = threading.Thread(target=lambda: asyncio.run(crowd(srv.base, citizens, seconds, 0, stats)))
        load.start()
        out: dict = {"store": kind, "citizens": citizens, "seconds": seconds, "writers": n_writers}
        try:
            time.sleep(seconds / 3)
            victim = srv.workers_pids()[0]
            os.kill(victim, signal.SIGKILL)
            out["worker_kill_gap_s"] = round(_serving_gap(srv), 2)
            time.sleep(seconds / 3)
            srv.kill_all()
            for w in writers:
                w.kill()
            t0 = time.monotonic()
            srv.start()
            out["server_restart_s"] = round(time.monotonic() - t0, 2)
            for w in writers:
                w.start()
            load.join()
            time.sleep(2)
        finally:
            for w in writers:
                if w.proc and w.proc.poll() is None:
                    w.kill()
            srv.stop()
        acked = [k for w in writers for k in w.acked]
        with engine.connect() as conn:
            stored = conn.scalars(select(Comment.client_key).where(Comment.client_key.like("k-%"))).all()
            total = conn.scalar(select(func.count()).select_from(Comment))
        engine.dispose()
        out["requests"] = stats.report(seconds)
        out["comments"] = {"acknowledged": len(acked), "acknowledged_missing": len(set(acked) - set(stored)),
                           "stored": len(stored), "stored_twice": len(stored) - len(set(stored)),
                           "demo_before": demo_comments, "total_rows": total}
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--store", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--citizens", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--writers", type=int, default=4)
    a = ap.parse_args()
    for kind in (["sqlite", "postgresql"] if a.store == "both" else [a.store]):
        print(json.dumps(run(kind, a.citizens, a.seconds, a.writers)), flush=True)


if __name__ == "__main__":
    main()
