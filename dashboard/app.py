"""The Dash application factory.

``create_app()`` wires settings, the city configuration and the store into one Dash app. Nothing is kept at
module level: each app holds its own ``dashboard.context.AppContext`` in ``server.extensions["citydash"]`` (tests
build many apps in one process; gunicorn builds one per worker).

Pages follow ``dashboard.context.Page`` and are listed in ``dashboard.pages.PAGES``; the router maps a URL to a
page.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from types import ModuleType
from typing import Any

from dash import Dash, Input, Output, dcc, html
from sqlalchemy import Engine

from dashboard.context import AppContext
from dashboard.http import api, comment_map, downloads, feeds, frontend, mail_pages, media, open311, openapi, pwa
from dashboard.pages import PAGE_LIST, resolve
from dashboard.server import auth, cache, dash_guard, health, hosts, limits, security
from dashboard.ui import officials
from data_sources.comments.routing import ensure_departments
from data_sources.config import CityConfig, Settings, load_city
from data_sources.operations import STORE_ERRORS, explain, prepare_store
from data_sources.store.db import make_engine
from data_sources.store.media import open_media_store

log = logging.getLogger("citydash")
# Server-side parts that plug into every app, in order; each module has ``init_app(app, ctx)``
# (blueprints, login, rate limits, caching, security headers...).
EXTENSIONS: list[ModuleType] = [
    hosts,
    limits,
    dash_guard,
    cache,
    auth,
    officials,
    feeds,
    open311,
    api,
    openapi,
    downloads,
    media,
    comment_map,
    mail_pages,
    frontend,
    pwa,
    health,
    security,
]  # security last: it hashes every inline script defined before it
ASSETS = Path(__file__).resolve().parent.parent / "assets"


def create_app(city: CityConfig | None = None, settings: Settings | None = None, engine: Engine | None = None) -> Dash:
    settings = settings or Settings.from_env()
    city = city or load_city(settings.city)
    own_engine = engine is None
    if own_engine:
        engine = make_engine(settings.sqlalchemy_url, prepared_statements=not settings.pgbouncer)
    try:  # migrate and fill an empty demo store, once across gunicorn workers
        prepare_store(engine, city, migrate_schema=own_engine)
        ensure_departments(engine, city.routing)  # the city's departments, offered in the queue before any comment
        store_ready = True
    except STORE_ERRORS as e:
        # Start anyway and answer 503 until the store is back (dashboard.server.health retries): no crash loop.
        log.error("store unreachable at start-up; serving 503 until it is back: %s", explain(engine, e))
        store_ready = False

    app = Dash(
        __name__,
        title=city.city.name,
        assets_folder=str(ASSETS),
        compress=True,
        serve_locally=True,
        suppress_callback_exceptions=True,
        update_title=None,
        meta_tags=[
            {"name": "viewport", "content": "width=device-width, initial-scale=1"},
            {"name": "description", "content": f"{city.city.name}: open data and citizens' comments"},
        ],
    )
    server = app.server
    server.secret_key = settings.secret_key or secrets.token_hex(32)
    ctx = AppContext(
        city=city,
        settings=settings,
        engine=engine,
        store_ready=store_ready,
        media=open_media_store(settings.media_url, settings.data_dir),
    )
    server.extensions["citydash"] = ctx

    app.layout = html.Div(
        [
            dcc.Location(id="url", refresh="callback-nav"),
            html.Div(id="page", className="page"),
        ]
    )

    @app.callback(Output("page", "children"), Input("url", "pathname"), Input("url", "search"))
    def route(pathname: str | None, search: str | None) -> Any:
        return resolve(ctx, pathname, search, plain=True)

    for page in PAGE_LIST:
        page.register(app, ctx)
    for part in EXTENSIONS:
        part.init_app(app, ctx)
    return app
