"""gunicorn serves the app with several workers from one store: the demo city is loaded once, a killed worker is
replaced without losing service, and comments sent through the report page's real Send survive kill -9 of the
whole server: every acknowledged one is stored exactly once after the restart."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import requests
from sqlalchemy import func, select

from bench._serve import MachineProbe, Server
from data_sources.store.models import Comment, Source
from data_sources.store.db import make_engine
from tests.support import ROOT

pytestmark = pytest.mark.slow


@pytest.fixture
def server(any_url):
    srv = Server(any_url, workers=2)
    srv.start(wait=180)
    yield srv
    srv.close()


def _count(url: str, table) -> int:  # noqa: ANN001
    engine = make_engine(url)
    with engine.connect() as conn:
        n = conn.scalar(select(func.count()).select_from(table))
    engine.dispose()
    return n


def test_two_workers_fill_an_empty_store_once_and_survive_a_killed_worker(server):
    workers = server.workers_pids()
    assert len(workers) == 2
    for _ in range(6):  # both workers answer (the kernel spreads connections)
        assert requests.get(server.base + "/", timeout=30).status_code == 200
    assert _count(server.url, Comment) == 2000  # once, not twice
    sources = _count(server.url, Source)
    assert server.log.read_text().count("loading the demo city") == 1
    os.kill(workers[0], signal.SIGKILL)
    end = time.monotonic() + 60
    while (workers[0] in server.workers_pids() or len(server.workers_pids()) < 2) and time.monotonic() < end:
        time.sleep(0.2)
    assert workers[0] not in server.workers_pids() and len(server.workers_pids()) == 2  # replaced
    for _ in range(4):
        assert requests.get(server.base + "/healthz", timeout=30).status_code == 200
    assert _count(server.url, Source) == sources  # the new worker did not refill
    lines = [json.loads(x) for x in server.log.read_text().splitlines() if x.startswith("{")]
    assert any(x.get("path") == "/healthz" and x.get("status") == 200 for x in lines)


def test_kill_9_of_the_server_mid_comments_loses_no_acknowledged_comment(server):
    writer = subprocess.Popen(
        [sys.executable, "-m", "bench.comment_writer", server.base, "0", "120"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    acked = [writer.stdout.readline().strip() for _ in range(15)]
    server.kill_all()  # master and workers at once, mid-stream
    server.start(wait=180)  # same store, same port: the writer's retries reach the new server
    acked += [line.strip() for line in writer.stdout]
    assert writer.wait(timeout=300) == 0
    engine = make_engine(server.url)
    with engine.connect() as conn:
        rows = conn.execute(select(Comment.client_key, Comment.text).where(Comment.client_key.like("k-%"))).all()
    engine.dispose()
    keys, texts = [r[0] for r in rows], [r[1] for r in rows]
    assert set(acked) <= set(keys)  # nothing acknowledged is lost
    assert len(texts) == len(set(texts))  # nothing stored twice, retries included
    assert len(set(acked)) == 120  # and every citizen got an answer in the end


def test_the_load_probe_reports_disk_stalls_and_slow_cores_in_the_window_they_happened(tmp_path):
    """bench/load.py blames a bad window on the machine only with this probe's evidence: it must really flush to
    the disk it is given, leave nothing behind, and put each stall in its own window."""
    with MachineProbe(str(tmp_path), interval=0.01) as probe:
        start = time.monotonic()
        time.sleep(0.5)
    real = probe.report(start, 0.5)
    assert real["disk_flush"]["n"] >= 10 and real["cpu_loop"]["n"] >= 5
    assert real["cpu_loop"]["median_ms"] > 0
    assert list(tmp_path.iterdir()) == []

    probe.samples = (
        [("flush", 100.0 + t, 1.0) for t in range(30)]
        + [("flush", 125.0, 700.0)]
        + [("loop", 100.0 + t, 0.6 if t >= 20 else 0.4) for t in range(30)]
        + [("flush", 90.0, 900.0)]
    )  # before the run: not counted
    rep = probe.report(100.0, 30)
    assert rep["disk_flush"]["max_per_10s_ms"] == [1.0, 1.0, 700.0]
    assert rep["disk_flush"]["over_100ms"] == 1
    assert rep["cpu_loop"]["median_per_10s_ms"] == [0.4, 0.4, 0.6]
