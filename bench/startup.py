"""Time from `python app.py` to a served home page, on a fresh data dir (the demo city is generated on first start)
and on a second start (store already filled).

    python bench/startup.py
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def time_to_serve(data_dir: str) -> float:
    port = _port()
    env = {**os.environ, "CITYDASH_DATA_DIR": data_dir, "CITYDASH_PORT": str(port)}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        while time.perf_counter() - t0 < 120:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_dash-layout", timeout=2) as r:
                    if r.status == 200:
                        return time.perf_counter() - t0
            except OSError:
                time.sleep(0.1)
        raise SystemExit("app did not serve within 120 s")
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as d:
        first = time_to_serve(d)
        second = time_to_serve(d)
    print(f"first start (generates the demo city): {first:.1f} s")
    print(f"second start (store already filled):   {second:.1f} s")
