"""gunicorn serves the app with several workers from one store: the demo city is loaded once, a killed worker is
replaced without losing service, and every request leaves one JSON log line."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from data_sources.models import Comment, Source
from data_sources.store import make_engine
from tests.conftest import ROOT, free_port

pytestmark = pytest.mark.slow


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _wait_ok(url: str, seconds: float = 120) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.RequestException:  # refused, or queued while the workers start
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer 200 within {seconds} s")


@pytest.fixture
def gunicorn(any_url, tmp_path):
    port = free_port()
    log = tmp_path / "gunicorn.log"
    env = {**os.environ, "CITYDASH_DATA_DIR": str(tmp_path), "CITYDASH_DATABASE_URL": any_url,
           "CITYDASH_SECRET_KEY": "serving-test", "CITYDASH_CITY": str(ROOT / "cities" / "demo.toml")}
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "-w", "2",
                                 "-b", f"127.0.0.1:{port}", "app:server"], cwd=ROOT, env=env, stdout=out, stderr=out)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ok(base + "/healthz")
        yield base, proc, log, any_url
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def test_two_workers_fill_an_empty_store_once_and_survive_a_killed_worker(gunicorn):
    base, proc, log, url = gunicorn
    workers = _children(proc.pid)
    assert len(workers) == 2
    for _ in range(6):  # both workers answer (the kernel spreads connections)
        assert requests.get(base + "/", timeout=30).status_code == 200
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Comment)) == 2000  # once, not twice
        sources = conn.scalar(select(func.count()).select_from(Source))
    text = log.read_text()
    assert text.count("loading the demo city") == 1
    os.kill(workers[0], signal.SIGKILL)
    _wait_ok(base + "/healthz", 60)
    end = time.monotonic() + 60
    while len(set(_children(proc.pid)) - {workers[0]}) < 2 and time.monotonic() < end:
        time.sleep(0.2)
    assert workers[0] not in _children(proc.pid) and len(_children(proc.pid)) == 2  # replaced
    for _ in range(4):
        assert requests.get(base + "/healthz", timeout=30).status_code == 200
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Source)) == sources  # the new worker did not refill
    engine.dispose()
    lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
    assert any(x.get("path") == "/healthz" and x.get("status") == 200 for x in lines)
