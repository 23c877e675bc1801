"""Aggregates are computed once per data version, new comments invalidate them, and with Redis the cache and the
rate limits are shared by every worker."""

import json

from dashboard.server import cache as cache_mod
from dashboard.ui import kpis
from dashboard.app import create_app
from dashboard.server.cache import cached
from dashboard.server.limits import limiter
from data_sources.comments.records import CommentInput, submit_comment
from tests.support import DEMO_END, clear_of_a_minute_edge, render_page


def _comment(ctx, key: str):
    lat, lon = ctx.city.city.centre
    # Dated inside the demo city's month, so that the month's participation figure counts it.
    return submit_comment(
        ctx.engine,
        ctx.city,
        CommentInput(
            lat=lat, lon=lon, category="air", created_at=DEMO_END, text="The air smells of diesel here", client_key=key
        ),
    )


def test_computed_once_until_data_changes(app, monkeypatch):
    ctx = app.server.extensions["citydash"]
    calls = []

    def fn():
        calls.append(1)
        return {"n": len(calls)}

    with app.server.app_context():
        assert cached(ctx, "k", fn) == {"n": 1}
        assert cached(ctx, "k", fn) == {"n": 1} and len(calls) == 1
        _comment(ctx, "cache-test-0001")
        assert cached(ctx, "k", fn) == {"n": 1}  # within MAX_LAG: a burst of comments does not recompute
        later = cache_mod._now() + cache_mod.MAX_LAG + 1
        monkeypatch.setattr(cache_mod, "_now", lambda: later)
        assert cached(ctx, "k", fn) == {"n": 2}  # new data and the entry is old enough: recomputed
        assert cached(ctx, "k", fn) == {"n": 2}  # and then kept while nothing changes, however old
        assert len(calls) == 2


def test_home_page_counts_a_new_comment_and_does_not_recompute_per_visitor(app, client, monkeypatch):
    ctx = app.server.extensions["citydash"]
    calls = {"readings": 0, "participation": 0}

    def counting(name, real):  # noqa: ANN001, ANN202
        def fn(*a, **k):  # noqa: ANN002, ANN003, ANN202
            calls[name] += 1
            return real(*a, **k)

        return fn

    monkeypatch.setattr(kpis, "reading_kpis", counting("readings", kpis.reading_kpis))
    monkeypatch.setattr(kpis, "participation_now", counting("participation", kpis.participation_now))

    def open_comments():
        page = render_page(client, "/")
        return _find(page, "kpi-participation")

    first = open_comments()
    for _ in range(3):
        assert open_comments() == first
    assert calls == {"readings": 1, "participation": 1}
    _comment(ctx, "cache-test-0002")
    later = cache_mod._now() + cache_mod.MAX_LAG + 1
    monkeypatch.setattr(cache_mod, "_now", lambda: later)
    assert open_comments() != first
    # The comment changed the participation figure; the air, traffic and cycling figures were not recomputed.
    assert calls == {"readings": 1, "participation": 2}


def test_a_shared_page_is_rebuilt_only_when_what_it_shows_changed(app, client, monkeypatch):
    from sqlalchemy import update

    from dashboard.pages import home, indicator
    from data_sources.store.models import Source
    from data_sources.operations import utcnow

    ctx = app.server.extensions["citydash"]
    builds = {"air": 0, "home": 0}
    for name, mod in (("air", indicator.AIR), ("home", home)):

        def counting(*a, _real=mod.layout, _name=name, **k):  # noqa: ANN002, ANN003, ANN202
            builds[_name] += 1
            return _real(*a, **k)

        monkeypatch.setattr(mod, "layout", counting)
    clock = [cache_mod._now()]
    monkeypatch.setattr(cache_mod, "_now", lambda: clock[0])

    def visit_both_later():
        clock[0] += cache_mod.MAX_LAG + 1
        return render_page(client, "/air"), render_page(client, "/")

    first_air, _home = visit_both_later()
    assert builds == {"air": 1, "home": 1}
    visit_both_later()  # nothing changed: each worker keeps its copy past MAX_LAG
    assert builds == {"air": 1, "home": 1}
    _comment(ctx, "cache-test-0004")
    visit_both_later()  # a comment changes what the home page shows (participation), not the air page
    assert builds == {"air": 1, "home": 2}
    with ctx.engine.begin() as conn:  # the air sensors stop answering: time alone changes no data version
        conn.execute(
            update(Source).where(Source.name == "demo-air").values(last_error="HTTP 500", last_error_at=utcnow())
        )
    air_now, _home = visit_both_later()
    assert builds == {"air": 2, "home": 3}
    assert "not answering" in json.dumps(air_now) and "not answering" not in json.dumps(first_air)


def _find(node, cid):
    """The text inside the component with id ``cid`` of a layout given as JSON."""
    if isinstance(node, dict):
        props = node.get("props", {})
        if props.get("id") == cid:
            return repr(props.get("children"))
        return next((t for t in (_find(v, cid) for v in props.values()) if t is not None), None)
    if isinstance(node, list):
        return next((t for t in (_find(v, cid) for v in node) if t is not None), None)
    return None


def _worker(demo_city, settings, demo_engine, redis_url):
    """Another app over the same store and Redis: what a second gunicorn worker is."""
    app = create_app(city=demo_city, settings=settings.model_copy(update={"redis_url": redis_url}), engine=demo_engine)

    @app.server.route("/limited")
    @limiter(app.server.extensions["citydash"]).limit("2/minute")
    def limited():
        return "ok"

    return app


def test_redis_shares_cache_and_rate_limits_across_workers(demo_city, settings, demo_engine, redis_url):
    a, b = (_worker(demo_city, settings, demo_engine, redis_url) for _ in range(2))
    calls = []
    for app in (a, b):
        with app.server.app_context():
            cached(app.server.extensions["citydash"], "shared", lambda: calls.append(1) or 42)
    assert len(calls) == 1  # b found a's entry
    ca, cb = a.server.test_client(), b.server.test_client()
    clear_of_a_minute_edge(10)
    assert [
        ca.get("/limited").status_code,
        cb.get("/limited").status_code,
        ca.get("/limited").status_code,
        cb.get("/limited").status_code,
    ] == [200, 200, 429, 429]


def test_a_citizens_comment_limit_holds_across_workers_and_not_across_citizens(
    demo_city, settings, demo_engine, redis_url
):
    from tests.dashboard.pages.test_feedback_pages import said, send

    proxied = settings.model_copy(update={"proxy_hops": 1})  # citizens' addresses come in X-Forwarded-For
    a, b = (_worker(demo_city, proxied, demo_engine, redis_url) for _ in range(2))

    def as_citizen(client, address):
        client.environ_base["HTTP_X_FORWARDED_FOR"] = address
        return client

    one_a, one_b = as_citizen(a.server.test_client(), "10.0.0.1"), as_citizen(b.server.test_client(), "10.0.0.1")
    for i in range(5):  # demo policy: 5 a minute, sent to alternate workers
        assert "Thank you" in said(send(one_a if i % 2 else one_b, key=f"across-workers-{i:03d}"))
    assert "Wait a few minutes" in said(send(one_a, key="across-workers-998"))
    other = as_citizen(b.server.test_client(), "10.0.0.2")
    assert "Thank you" in said(send(other, key="across-workers-999"))


def test_cache_down_costs_only_recomputation(demo_city, settings, demo_engine):
    from tests.support import free_port

    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    app = create_app(city=demo_city, settings=settings.model_copy(update={"redis_url": dead}), engine=demo_engine)
    with app.server.app_context():
        assert cached(app.server.extensions["citydash"], "k", lambda: "computed") == "computed"


def test_zero_lag_recomputes_on_every_change(app):
    ctx = app.server.extensions["citydash"]
    calls = []
    with app.server.app_context():
        cached(ctx, "z", lambda: calls.append(1), max_lag=0)
        _comment(ctx, "cache-test-0003")
        cached(ctx, "z", lambda: calls.append(1), max_lag=0)
    assert len(calls) == 2
