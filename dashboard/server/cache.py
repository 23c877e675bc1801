"""Aggregates (KPIs, map layers, district figures, the comment heatmap) cached so that a busy page does not
recompute per visitor.

Flask-Caching: in-process ``SimpleCache`` by default, ``RedisCache`` when CITYDASH_REDIS_URL is set (shared by
every gunicorn worker). ``cached(ctx, key, fn)`` stores ``fn()`` with the store's data version
(``data_sources.operations.data_version``: new comments, comment events, observations, refreshed sources): when
data or comments arrive the version changes and the next visitor recomputes. Under a stream of comments (hundreds
a second) the version changes on every request, so an entry younger than ``MAX_LAG`` seconds is still served: a
new comment shows in the aggregates within MAX_LAG seconds, and a page recomputes at most once per MAX_LAG
seconds per cache (per worker, or once with Redis).

``shared_page(ctx, key, fn, depends)`` keeps, in each process, whole pages that are the same for every visitor
(public pages that set ``SHARED = True``), per language and query. A copy younger than MAX_LAG seconds is served
as is; an older one is checked against what the page shows (the parts of the data version it depends on, and
which sources are behind) and rebuilt only if that changed: under a stream of comments the air page is not
rebuilt by every worker every MAX_LAG seconds, only when readings arrive or a source falls behind.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from datetime import datetime
from typing import Any, Callable, TYPE_CHECKING, TypeVar

import flask
from cachetools import TTLCache
from dash import Dash
from flask_caching import Cache

from dashboard.context import AppContext
from data_sources.operations import SourceStatus, data_version, source_status

if TYPE_CHECKING:  # dashboard.app imports this module
    from dashboard.context import AppContext

T = TypeVar("T")
log = logging.getLogger("citydash")
MAX_LAG = 5.0  # seconds
TIMEOUT = 3600  # backstop: an entry nobody asked for in an hour is dropped


def init_app(app: Dash, ctx: AppContext) -> None:
    # One namespace per city and store, so apps over different databases can share a Redis.
    url = ctx.engine.url.render_as_string(hide_password=True)
    prefix = f"citydash:{ctx.city.city.slug}:{hashlib.sha256(url.encode()).hexdigest()[:12]}:"
    if ctx.settings.redis_url:
        config = {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": ctx.settings.redis_url, "CACHE_KEY_PREFIX": prefix}
    else:
        config = {"CACHE_TYPE": "SimpleCache", "CACHE_THRESHOLD": 500}
    cache = Cache(config={**config, "CACHE_DEFAULT_TIMEOUT": TIMEOUT})
    cache.init_app(app.server)
    ctx.cache = cache
    # Bounded: odd query strings push older pages out, they do not grow memory.
    ctx.shared_pages = (TTLCache(maxsize=256, ttl=TIMEOUT, timer=lambda: _now()), threading.Lock())


def _now() -> float:
    return time.time()  # wall clock: entries are shared across processes through Redis


def _once_per_request(name: str, fn: Callable[[], T]) -> T:
    """``fn()``, asked of the store once per request however many parts of the page need it."""
    if not flask.has_request_context():
        return fn()
    if name not in flask.g:
        setattr(flask.g, name, fn())
    return getattr(flask.g, name)


def _request_version(ctx: AppContext) -> tuple[str, ...]:
    return _once_per_request("citydash_version", lambda: data_version(ctx.engine))


def request_source_status(ctx: AppContext) -> list[SourceStatus]:
    """Each source's status (``data_sources.operations.source_status``), read once per request: the page stamp
    and the page's own stale notices use the same reading."""
    return _once_per_request("citydash_sources", lambda: source_status(ctx.engine, ctx.city))


# Which parts of the data version (data_sources.operations.data_version) an aggregate depends on: a stream of
# comments must not make every worker recompute the air quality figures.
DEPENDS = {"all": slice(None), "comments": slice(0, 2), "readings": slice(2, None)}


def _relevant(version: tuple[str, ...], depends: str) -> tuple[str, ...]:
    return tuple(version)[DEPENDS[depends]]


def cached(
    ctx: AppContext,
    key: str,
    fn: Callable[[], T],
    timeout: int | None = None,
    max_lag: float | None = None,
    depends: str = "all",
) -> T:
    """``fn()``, from the cache while the data has not changed (or changed less than ``max_lag`` seconds after
    the entry was computed); ``timeout`` bounds how long an unused entry is kept. ``depends`` narrows which
    changes count: "comments" (comments and their events), "readings" (observations and sources) or "all".
    Without a cache (an app built without this extension), always ``fn()``. A cache that fails (Redis down) only
    costs the recomputation."""
    cache: Cache | None = ctx.cache
    if cache is None:
        return fn()
    lag = MAX_LAG if max_lag is None else max_lag
    try:
        entry = cache.get(key)
    except Exception as e:  # noqa: BLE001  (any cache backend failure)
        log.warning("cache unavailable", extra={"error": str(e)})
        entry = None
    if entry is not None:
        at, ver, value = entry
        # A young entry is served without asking the store for the version (one round trip less per request).
        if _now() - at < lag or _relevant(ver, depends) == _relevant(_request_version(ctx), depends):
            return value
    version = _request_version(ctx)  # before computing: data that lands meanwhile makes the next visitor recompute
    value = fn()
    try:
        cache.set(key, (_now(), version, value), timeout=timeout or TIMEOUT)
    except Exception as e:  # noqa: BLE001
        log.warning("cache unavailable", extra={"error": str(e)})
    return value


# A figure's data turns stale with time alone ("Latest reading: ..." instead of "now"): pages that show readings
# are rebuilt at least this often (seconds), so the wording changes within this long of the data's window passing.
STALE_TICK = 300


def request_now(ctx: AppContext) -> datetime:
    """The time the figures are judged at (naive UTC): the wall clock, or ``ctx.clock()``, which tests set
    (tests pin it to the demo city's end)."""
    return ctx.clock()


def page_stamp(ctx: Any, depends: str = "all") -> tuple:
    """What a shared page shows besides its code: the parts of the data version it depends on, which sources
    are behind (the pages say so in words; a source goes stale with time alone, which changes no data version),
    and, for pages of readings, the STALE_TICK the clock is in. Ages are left out: they change every second."""
    behind = tuple((s.name, s.last_success_at, s.stale, s.failing) for s in request_source_status(ctx))
    tick = int(request_now(ctx).timestamp() // STALE_TICK) if depends != "comments" else 0
    return _relevant(_request_version(ctx), depends), behind, tick


def shared_page(ctx: AppContext, key: tuple, fn: Callable[[], T], depends: str = "all") -> T:
    """``fn()``, kept in this process under ``key``: served as is for MAX_LAG seconds, then kept as long as
    ``page_stamp(ctx, depends)`` is unchanged. Without the cache extension, ``fn()``. The stamp is taken before
    building, so that data landing meanwhile makes the next visitor rebuild; a store that is down makes the
    check fail like the build would."""
    pages = ctx.shared_pages
    if pages is None:
        return fn()
    memo, lock = pages
    with lock:
        hit = memo.get(key)
    now = _now()
    if hit is not None and now - hit[0] < MAX_LAG:
        return hit[2]
    stamp = page_stamp(ctx, depends)
    if hit is not None and hit[1] == stamp:
        value = hit[2]
    else:
        value = fn()
    with lock:
        memo[key] = (now, stamp, value)
    return value
