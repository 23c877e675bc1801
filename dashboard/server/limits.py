"""Rate limits per client (Flask-Limiter): in-process memory by default, Redis when CITYDASH_REDIS_URL is set,
so that limits hold across gunicorn workers.

Flask routes use ``limiter(ctx).limit("5/minute")`` as a decorator (with X-RateLimit and Retry-After headers for
API clients). Dash callbacks, which all share one route and whose headers nobody reads, ask ``allow(ctx, rate,
scope)``: the same storage and strategy through the `limits` library underneath, one storage call per limit and
nothing else (the comment path runs it 300 times a second at peak).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import flask
from dash import Dash
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse_many

from dashboard.context import AppContext
from data_sources.comments.records import address_hash, client_network

if TYPE_CHECKING:  # dashboard.app imports the pages, which import this module
    from dashboard.context import AppContext


def init_app(app: Dash, ctx: AppContext) -> None:
    prefix = f"citydash:{ctx.city.city.slug}:swc"
    lim = Limiter(
        key_func=get_remote_address,
        storage_uri=ctx.settings.redis_url or "memory://",
        default_limits=[],  # none, nor application limits: _check_blueprints_only counts on it
        headers_enabled=True,
        # A weighted count over the current and the previous window: close to a true moving window, at two
        # counters per client instead of one list entry per request.
        strategy="sliding-window-counter",
        # Per city (cities may share a Redis); the strategy in the name, as each strategy keeps its own key types.
        key_prefix=prefix,
    )
    lim.init_app(app.server)
    _check_blueprints_only(app.server, lim)
    ctx.limiter = lim
    ctx.limit_prefix = prefix


def _check_blueprints_only(server: flask.Flask, lim: Limiter) -> None:
    """Flask-Limiter checks every request before the view runs, for default, application and blueprint limits;
    a decorated view checks its own limits when it is called, whatever this hook does. We set no default or
    application limits, so the hook matters for blueprint routes only (the feeds): there it still runs, first
    and in place; elsewhere (pages, Dash callbacks, Send: 300 requests a second at peak) it is skipped. It cost
    0.2 M instructions per request for nothing (bench/comment_cost.py --callgrind)."""
    hooks = server.before_request_funcs[None]
    check = lim._check_request_limit

    def check_blueprint_limits() -> Any:
        if flask.request.blueprint is not None:
            return check()
        return None

    hooks[hooks.index(check)] = check_blueprint_limits


def limiter(ctx: AppContext) -> Limiter:
    if ctx.limiter is None:
        raise RuntimeError("dashboard.server.limits.init_app has not run for this app")
    return ctx.limiter


@lru_cache(maxsize=64)
def _items(rate: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(rate))


def allow(ctx: AppContext, rate: str, scope: str) -> bool:
    """Count one action of this request's client under ``rate`` ("5/minute;30/day") in ``scope``; False, and
    nothing counted for the limit that is full, when the client is over any of them. The client is its address
    as the trusted proxy hops give it (CITYDASH_PROXY_HOPS), an IPv6 client its /64 network."""
    strategy, who = limiter(ctx).limiter, (ctx.limit_prefix, "dash", scope, client_network(get_remote_address()))
    return all(strategy.hit(item, *who) for item in _items(rate))


def client_address_hash(ctx: AppContext) -> str:
    """The keyed hash that supports and flags store for this request's client address (never the address).
    The key derives from the app's secret key: set CITYDASH_SECRET_KEY, or each worker process has its own
    key and one address counts once per worker."""
    key = ctx.address_key
    if key is None:
        secret = str(flask.current_app.secret_key or "")
        key = ctx.address_key = hashlib.sha256(b"citydash address hash:" + secret.encode()).digest()
    return address_hash(key, get_remote_address())
