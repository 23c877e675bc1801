"""Rate limits per client (Flask-Limiter): in-process memory by default, Redis when CITYDASH_REDIS_URL is set,
so that limits hold across gunicorn workers.

Flask routes use ``limiter(ctx).limit("5/minute")`` as a decorator; Dash callbacks, which all share one route,
use it as a context manager inside the callback: ``with limiter(ctx).limit("5/minute", scope="comment"): ...``
(raises ``flask_limiter.RateLimitExceeded``, which the callback turns into a clear message).
"""
from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address


def init_app(app, ctx) -> None:  # noqa: ANN001
    lim = Limiter(
        key_func=get_remote_address,
        storage_uri=ctx.settings.redis_url or "memory://",
        default_limits=[],
        headers_enabled=True,
        # A weighted count over the current and the previous window: close to a true moving window, at two
        # counters per client instead of one list entry per request.
        strategy="sliding-window-counter",
        # Per city (cities may share a Redis); the strategy in the name, as each strategy keeps its own key types.
        key_prefix=f"citydash:{ctx.city.city.slug}:swc",
    )
    lim.init_app(app.server)
    ctx.extras["limiter"] = lim


def limiter(ctx) -> Limiter:  # noqa: ANN001
    return ctx.extras["limiter"]
