"""Faults under load: kill -9 of one gunicorn worker, then of the whole server (master and workers at once),
while citizens browse and comment; after the restart every acknowledged comment is stored exactly once.

    python bench/kill.py [--store sqlite|postgresql|both] [--citizens 200] [--seconds 60] [--comment-share 0.5]

Comments go through the report page's Send (bench/load.py explains the simulated citizens). A worker
is killed at a quarter of the run and the server at half, then restarted on the same port. Prints JSON:
requests (failed ones include those cut by the kills), time until the server answered again, and the
comment check.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._serve import Server, Stats, check_comments, cli, crowd, fresh_store, run_crowd  # noqa: E402


def run(kind: str, citizens: int, seconds: float, comment_share: float) -> dict:
    with fresh_store(kind) as url:
        srv = Server(url, workers=4)
        srv.start()
        stats, acked, tag = Stats(), [], f"k{uuid.uuid4().hex[:6]}"
        load = threading.Thread(
            target=lambda: run_crowd(crowd(srv.base, citizens, seconds, 0, stats, comment_share, acked, tag))
        )
        out: dict = {"store": kind, "citizens": citizens, "seconds": seconds, "comment_share": comment_share}
        try:
            load.start()
            time.sleep(seconds / 4)
            os.kill(srv.workers_pids()[0], signal.SIGKILL)
            t0 = time.monotonic()
            srv.wait_healthy(120)
            out["after_worker_kill_healthy_s"] = round(time.monotonic() - t0, 2)
            time.sleep(max(0.0, seconds / 4 - (time.monotonic() - t0)))
            srv.kill_all()
            t0 = time.monotonic()
            srv.start()
            out["after_server_kill_healthy_s"] = round(time.monotonic() - t0, 2)
            load.join()
        finally:
            srv.close()
        out["requests"] = stats.report(seconds)
        out["comments"] = check_comments(url, acked, tag)
        return out


if __name__ == "__main__":
    cli(__doc__, run, [("--comment-share", {"type": float, "default": 0.5})])
