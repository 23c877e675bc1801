"""What one Dash app shares with its parts: the typed ``AppContext``, and the ``Page`` protocol every page follows.

One context per app, kept in ``server.extensions["citydash"]`` (tests build many apps in one process; gunicorn
builds one per worker): no module-level state. A leaf module: every layer of ``dashboard`` may import it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import flask
from sqlalchemy import Engine

from dashboard import i18n
from data_sources.config import CityConfig, Settings
from data_sources.store.db import utcnow
from data_sources.store.media import MediaStore

if TYPE_CHECKING:
    import pandas as pd
    from cachetools import TTLCache
    from dash import Dash
    from flask_caching import Cache
    from flask_limiter import Limiter
    from flask_login import LoginManager
    from flask_wtf.csrf import CSRFProtect

    from dashboard.server.login_throttle import LoginThrottle

Query = dict[str, list[str]]  # a parsed query string (urllib.parse.parse_qs)


@dataclass
class AppContext:
    """The city, the settings and the store, plus what the server parts set up at start (each says which)."""

    city: CityConfig
    settings: Settings
    engine: Engine
    media: MediaStore  # citizens' photos (data_sources.store.media): files or an S3-compatible store
    # The time the figures are judged at (naive UTC): how old a reading is, "now" or "latest reading"
    # (dashboard.server.cache.request_now). Tests set it to move time.
    clock: Callable[[], datetime] = utcnow
    # dashboard.server.limits; address_key: the key of the supports' and flags' address hashes
    limiter: Limiter | None = None
    limit_prefix: str = ""
    address_key: bytes | None = None
    # dashboard.server.auth: sessions are judged by session_clock (seconds since the epoch; tests move it)
    login_manager: LoginManager | None = None
    csrf: CSRFProtect | None = None
    session_clock: Callable[[], float] = time.time
    login_throttle: LoginThrottle | None = None
    public_officials_routes: set[str] = field(default_factory=set)  # /officials routes open without a session
    # dashboard.server.cache: aggregates (Flask-Caching), and shared pages kept in this process
    cache: Cache | None = None
    shared_pages: tuple[TTLCache[Any, Any], threading.Lock] | None = None
    # dashboard.server.health: start-up work and store reachability
    schema_head: str | None = None
    store_ready: bool = True
    store_retry_at: float = 0.0
    store_seen_at: float = float("-inf")
    # dashboard.pages.ledger: (computed at, as of, ledger)
    ledger_cache: tuple[float, datetime, dict[str, pd.DataFrame]] | None = None

    def language(self, query: Query | None = None) -> str:
        q = (query or {}).get("lang", [None])[0]
        accept = flask.request.headers.get("Accept-Language") if flask.has_request_context() else None
        return i18n.negotiate(self.city.city.languages, q, accept, self.city.city.default_language)


def get_context(server: flask.Flask | None = None) -> AppContext:
    ctx: AppContext = (server or flask.current_app).extensions["citydash"]
    return ctx


class Page(Protocol):
    """A page: a module under ``dashboard/pages`` (or an object, such as each indicator page) listed in
    ``dashboard.pages.PAGES``.

    ``PATH`` is a pattern such as ``/comments/<int:comment_id>``. ``SHARED``: the layout is the same for every
    visitor (no session, no per-visit token), so each worker keeps it per language and query until what it shows
    changes (``dashboard.server.cache.shared_page``); ``DEPENDS`` says which data that is ("readings",
    "comments" or "all"). ``FIRST_PAINT``: the HTML page carries a server-rendered copy (dashboard.http.frontend):
    the layout, or what the page's optional ``first_paint(ctx, lang, query, **params)`` returns (/report: the
    heading and the intro, no form control).
    """

    PATH: str
    SHARED: bool
    DEPENDS: str
    FIRST_PAINT: bool

    def layout(self, ctx: AppContext, lang: str, query: Query, /, **params: Any) -> Any: ...

    def register(self, app: Dash, ctx: AppContext) -> None: ...
