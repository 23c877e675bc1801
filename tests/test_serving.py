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

from bench._serve import Server
from data_sources.models import Comment, Source
from data_sources.store import make_engine
from tests.conftest import ROOT

pytestmark = pytest.mark.slow


@pytest.fixture
def server(any_url):
    srv = Server(any_url, workers=2)
    srv.start(wait=180)
    yield srv
    srv.stop()


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
    writer = subprocess.Popen([sys.executable, "-m", "bench.comment_writer", server.base, "0", "120"], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
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
