"""The scale-out shape, for real: two gunicorn masters on different ports behind Debian's nginx, sharing one
PostgreSQL database (reached through PgBouncer in transaction mode) and one Redis. Everything is checked over HTTP
through nginx, as a citizen or an official would meet it: both servers answer, comments are stored exactly once,
an official's session holds on both servers and ends on both, a rate limit counts across servers, a cached public
page changes on both servers when an answer arrives on one, and only one refresh runs at a time."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
import requests
from sqlalchemy import func, select

from bench._serve import cluster, fresh_store
from data_sources.comments.api_keys import create_api_key
from data_sources.operations import store_lock
from data_sources.store.db import make_engine
from data_sources.store.models import Comment, Department
from tests.dashboard.live_helpers import call_callback, http_login, http_logout, officials_callback_body
from tests.dashboard.officials_helpers import make_officials
from tests.dashboard.test_answers import public_page_text
from tests.support import ROOT, clear_of_a_minute_edge

if TYPE_CHECKING:
    from bench._serve import Nginx, Server

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


class Cluster:
    def __init__(self, proxy: Nginx, apps: list[Server], url: str) -> None:
        self.proxy, self.apps, self.url = proxy, apps, url
        self.base = proxy.base
        self.engine = make_engine(url, prepared_statements=False)  # through PgBouncer, as the app servers


@pytest.fixture(scope="module")
def two_servers() -> Iterator[Cluster]:
    redis_url = os.environ.get("CITYDASH_TEST_REDIS_URL")
    if not redis_url:
        pytest.skip("CITYDASH_TEST_REDIS_URL is not set (several app servers share their limits in Redis)")
    missing = [tool for tool in ("nginx", "pgbouncer") if shutil.which(tool) is None]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{', '.join(missing)} not installed: .ci/run must apt-get install them")
        pytest.skip(f"{', '.join(missing)} not installed (apt-get install nginx pgbouncer)")
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    with fresh_store("postgresql") as url, cluster(url, servers=2, workers=1, redis_url=redis_url) as (p, apps, u):
        c = Cluster(p, apps, u)
        yield c
        c.engine.dispose()


def _upstreams(responses: list[requests.Response]) -> set[str]:
    return {r.headers["X-Upstream"] for r in responses}


def test_both_servers_answer_through_nginx_and_the_demo_city_was_loaded_once(two_servers: Cluster) -> None:
    answers = [requests.get(two_servers.base + "/", timeout=60) for _ in range(6)]
    assert all(r.status_code == 200 for r in answers)
    assert len(_upstreams(answers)) == 2  # round robin reached both app servers
    with two_servers.engine.connect() as conn:  # both started at once; the advisory lock let one fill the store
        assert conn.scalar(select(func.count()).select_from(Comment)) == 2000
    loaded = sum(a.log.read_text().count("loading the demo city") for a in two_servers.apps)
    assert loaded == 1


def test_comments_through_nginx_are_each_stored_exactly_once(two_servers: Cluster) -> None:
    writer = subprocess.run(
        [sys.executable, "-m", "bench.comment_writer", two_servers.base, "0", "40"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert writer.returncode == 0, writer.stderr[-2000:]
    acked = writer.stdout.split()
    assert len(set(acked)) == 40
    with two_servers.engine.connect() as conn:
        keys = conn.scalars(select(Comment.client_key).where(Comment.client_key.like("k-%"))).all()
    assert sorted(keys) == sorted(set(acked))  # every acknowledged comment, once


def test_an_officials_session_holds_on_both_servers_and_logout_ends_it_on_both(two_servers: Cluster) -> None:
    make_officials(two_servers.engine)
    s, r = http_login(two_servers.base, "official@city.example")
    assert r.status_code == 303
    body = officials_callback_body(two_servers.base)  # a real officials' callback: the queue
    seen = [call_callback(two_servers.base, body, session=s) for _ in range(6)]
    assert [r.status_code for r in seen] == [200] * 6
    assert len(_upstreams(seen)) == 2  # the same session cookie, honoured by both servers
    copied = dict(s.cookies)
    assert http_logout(two_servers.base, s).status_code == 303
    for app in two_servers.apps:  # the copied cookie, replayed straight at each server: the session ended everywhere
        r = call_callback(app.base, body, cookies=copied)
        assert r.status_code == 401 and "response" not in r.text


def test_a_rate_limit_counts_across_both_servers(two_servers: Cluster) -> None:
    url = two_servers.base + "/api/v1/comments/heatmap?res=6"
    who = {"X-Forwarded-For": "203.0.113.77"}  # one citizen (nginx trusts the address from loopback)
    clear_of_a_minute_edge(40)
    answers = [requests.get(url, headers=who, timeout=60) for _ in range(121)]
    assert len(_upstreams(answers[:120])) == 2
    assert [r.status_code for r in answers[:120]] == [200] * 120
    assert answers[120].status_code == 429  # the 121st, whichever server it reached: the count is shared
    other = requests.get(url, headers={"X-Forwarded-For": "203.0.113.78"}, timeout=60)
    assert other.status_code == 200  # another citizen keeps their own allowance


def test_an_answer_on_one_server_shows_on_the_cached_page_of_the_other(two_servers: Cluster) -> None:
    with two_servers.engine.connect() as conn:
        cid, dept = conn.execute(
            select(Comment.id, Comment.department_id)
            .where(Comment.status == "new", Comment.department_id.is_not(None), Comment.moderation == "published")
            .limit(1)
        ).one()
    with two_servers.engine.connect() as conn:
        dept_name = conn.scalar(select(Department.name).where(Department.id == dept))
    key = create_api_key(two_servers.engine, "scale-out-backoffice", department=dept_name)
    answer = "We repainted the crossing on Tuesday."

    def page(app: Server) -> str:  # what a browser gets when it opens /comments/<id> there (the router's answer)
        return public_page_text(app.base, cid)

    for app in two_servers.apps:  # each server renders (and keeps) the page before the answer
        assert answer not in page(app)
    r = requests.post(
        f"{two_servers.apps[0].base}/api/v1/comments/{cid}/updates",
        json={"status": "resolved", "text": answer},
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    )
    assert r.status_code in (200, 201), r.text
    for app in two_servers.apps:  # the other server's copy is stale the moment the store changed
        assert answer in page(app)


def test_only_one_refresh_runs_at_a_time_across_machines(two_servers: Cluster) -> None:
    env = {
        **os.environ,
        **two_servers.apps[0].env,
        "PYTHONPATH": str(ROOT),
    }
    cmd = [sys.executable, "-m", "dashboard.cli", "refresh", "--no-progress"]
    with store_lock(two_servers.engine, "refresh", wait=False) as held:  # another machine's refresh is running
        assert held
        busy = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert busy.returncode == 0, busy.stderr[-2000:]
    assert "another refresh of this store is running" in busy.stdout
    free = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert free.returncode == 0, free.stderr[-2000:]
    assert "skipped" not in free.stdout  # the lock went with the other machine's transaction: this one ran
