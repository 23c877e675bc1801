"""The Dash application factory.

``create_app()`` wires settings, the city configuration and the store into one Dash app. Nothing is kept at
module level: each app holds its own context in ``server.extensions["citydash"]`` (tests build many apps in one
process; gunicorn builds one per worker).

Pages are modules under ``dashboard/pages`` with ``PATH``, ``layout(ctx, lang, query)`` and
``register(app, ctx)``; the router maps a URL to a page.
"""
from __future__ import annotations

import importlib
import logging
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import flask
from dash import Dash, Input, Output, dcc, html
from sqlalchemy import Engine

from dashboard import i18n
from dashboard.pages import PAGES, resolve
from data_sources.config import CityConfig, Settings, load_city
from data_sources.operations import STORE_ERRORS, explain, prepare_store
from data_sources.store.db import make_engine

log = logging.getLogger("citydash")
# Server-side parts that plug into every app, in order; each module has ``init_app(app, ctx)``
# (blueprints, login, rate limits, caching, security headers...).
EXTENSIONS: list[str] = ["dashboard.server.limits", "dashboard.server.cache", "dashboard.server.auth", "dashboard.ui.officials", "dashboard.http.feeds",
                         "dashboard.http.open311", "dashboard.http.api", "dashboard.http.downloads", "dashboard.http.frontend", "dashboard.server.health",
                         "dashboard.server.security"]  # security last: it hashes every inline script defined before it
ASSETS = Path(__file__).resolve().parent.parent / "assets"


@dataclass
class AppContext:
    city: CityConfig
    settings: Settings
    engine: Engine
    extras: dict = field(default_factory=dict)  # room for caches, limiter, login manager set up by later parts

    def language(self, query: dict[str, list[str]] | None = None) -> str:
        q = (query or {}).get("lang", [None])[0]
        accept = flask.request.headers.get("Accept-Language") if flask.has_request_context() else None
        return i18n.negotiate(self.city.city.languages, q, accept, self.city.city.default_language)


def get_context(server: flask.Flask | None = None) -> AppContext:
    return (server or flask.current_app).extensions["citydash"]


def create_app(city: CityConfig | None = None, settings: Settings | None = None, engine: Engine | None = None) -> Dash:
    settings = settings or Settings.from_env()
    city = city or load_city(settings.city)
    own_engine = engine is None
    if own_engine:
        engine = make_engine(settings.sqlalchemy_url)
    try:  # migrate and fill an empty demo store, once across gunicorn workers
        prepare_store(engine, city, migrate_schema=own_engine)
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
    ctx = AppContext(city=city, settings=settings, engine=engine, extras={"store_ready": store_ready})
    server.extensions["citydash"] = ctx

    app.layout = html.Div([
        dcc.Location(id="url", refresh="callback-nav"),
        html.Div(id="page", className="page"),
    ])

    @app.callback(Output("page", "children"), Input("url", "pathname"), Input("url", "search"))
    def route(pathname: str | None, search: str | None):
        return resolve(ctx, pathname, search, plain=True)

    for page in PAGES:
        page.register(app, ctx)
    for name in EXTENSIONS:
        importlib.import_module(name).init_app(app, ctx)
    return app
