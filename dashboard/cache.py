"""Aggregates cached per app (Flask-Caching): in-process by default, Redis when CITYDASH_REDIS_URL is set, so
that gunicorn workers share them. Pages cache what every visitor sees the same (KPIs, map layers, district
figures) for a short time; the store is refreshed hourly, so a minute-old figure is still "now".
"""
from __future__ import annotations

from typing import Any, Callable

from flask_caching import Cache

DEFAULT_TIMEOUT = 60  # seconds


def init_app(app, ctx) -> None:  # noqa: ANN001
    if ctx.settings.redis_url:
        config = {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": ctx.settings.redis_url,
                  "CACHE_KEY_PREFIX": f"citydash:{ctx.city.city.slug}:"}
    else:
        config = {"CACHE_TYPE": "SimpleCache", "CACHE_THRESHOLD": 500}
    cache = Cache(config={**config, "CACHE_DEFAULT_TIMEOUT": DEFAULT_TIMEOUT})
    cache.init_app(app.server)
    ctx.extras["cache"] = cache


def cached(ctx, key: str, compute: Callable[[], Any], timeout: int | None = None) -> Any:  # noqa: ANN001
    """``compute()`` once per ``key`` and timeout; without a cache (an app built without this extension), always."""
    cache = ctx.extras.get("cache")
    if cache is None:
        return compute()
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, timeout=timeout)
    return value
