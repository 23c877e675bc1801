"""What the browser downloads first, kept small for a mid-range phone:

* the HTML page carries a static copy of the page (dashboard/http/ssr.py) for pages that set ``FIRST_PAINT = True``,
  so KPI text shows before any JavaScript runs, and ``<html lang>`` in the visitor's language;
* plotly.js is not loaded up front: assets/citydash.js fetches the partial bundle
  (assets/deferred/plotly-citydash.min.js, built by tools/build_plotly.sh) when a chart or the map comes into
  view; the ``deferred`` folder is kept out of Dash's automatic script tags;
* Dash's @babel/polyfill (for browsers without ES2015) is dropped; the one part Dash's code calls,
  regeneratorRuntime, is served from assets/regenerator-runtime.min.js;
* Dash's scripts are ``defer``red (they still run in order) and the renderer starts on DOMContentLoaded, so they
  no longer block the first paint.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import flask
from dash import Dash
from markupsafe import escape

from dashboard.context import AppContext
from dashboard.http.pwa import head_tags
from dashboard.http.ssr import to_html
from dashboard.i18n import PLOTLY_LOCALES
from dashboard.pages import depends_on, find, resolve
from dashboard.server.cache import shared_page

log = logging.getLogger("citydash")
PLOTLY_BUNDLE = "deferred/plotly-citydash.min.js"
_POLYFILL = re.compile(r'<script src="[^"]*/deps/polyfill@[^"]*"></script>\s*')
_SCRIPT_SRC = re.compile(r"<script src=")


def first_paint(ctx: AppContext, path: str, search: str) -> str:
    """Static HTML of the page at ``path``, or "" when the page does not opt in (or fails: Dash still draws it)."""
    page, _params = find(path)
    if page is None or not page.page.FIRST_PAINT:
        return ""
    try:
        return f'<div id="first-paint" class="first-paint">{to_html(resolve(ctx, path, search))}</div>'
    except Exception:  # the static copy is an optimisation; never let it break the page
        log.exception("first paint of %s failed", path)
        return ""


def plotly_locale_meta(app: Dash, lang: str) -> str:
    """``<meta name="citydash-plotly-locale">`` naming plotly.js's locale file for ``lang`` (month and day names on
    the charts' date axes), which assets/citydash.js loads right after the bundle; "" for English."""
    name = PLOTLY_LOCALES.get(lang)
    if not name:
        return ""
    url = app.get_asset_url(f"deferred/plotly-locale-{name}.js")
    return f'\n      <meta name="citydash-plotly-locale" content="{escape(url)}">'


def init_app(app: Dash, ctx: AppContext) -> None:
    app.config.assets_path_ignore = [*(app.config.assets_path_ignore or []), "deferred"]
    # "var renderer = new DashRenderer(hooks);" runs once the deferred scripts have (hooks kept as Dash wrote them).
    start = app.renderer.replace("var renderer", "window.renderer", 1)
    app.renderer = f'window.addEventListener("DOMContentLoaded", function () {{ {start} }});'
    default = app.interpolate_index
    bundle = app.config.assets_folder + "/" + PLOTLY_BUNDLE

    def request_lang() -> str:
        return ctx.language({k: flask.request.args.getlist(k) for k in flask.request.args})

    def interpolate_index(**kw: Any) -> Any:
        req = flask.request
        search = req.query_string.decode("utf-8", "replace")
        lang = request_lang()
        kw["scripts"] = _SCRIPT_SRC.sub("<script defer src=", _POLYFILL.sub("", kw.get("scripts", "")))
        try:
            from pathlib import Path

            mtime = int(Path(bundle).stat().st_mtime)
            kw["metas"] = (
                kw.get("metas", "")
                + f'\n      <meta name="citydash-plotly" content="{escape(app.get_asset_url(PLOTLY_BUNDLE))}?m={mtime}">'
            )
        except OSError:
            log.warning("partial plotly.js bundle missing (%s): charts use Dash's full plotly.js", bundle)
        kw["metas"] = kw.get("metas", "") + plotly_locale_meta(app, lang)
        kw["metas"] = kw.get("metas", "") + head_tags(lang)  # the installable app (dashboard/http/pwa.py)
        kw["app_entry"] = first_paint(ctx, req.path, search) + kw.get("app_entry", "")
        return default(**kw).replace("<html>", f'<html lang="{escape(lang)}">', 1)

    app.interpolate_index = interpolate_index
    default_index = app.index

    def index(*args: Any, **kwargs: Any) -> Any:
        # The whole HTML page of a public page is the same for every visitor in a language: kept like the page.
        req = flask.request
        page, _params = find(req.path)
        if page is None or not page.page.SHARED:
            return default_index(*args, **kwargs)
        key = ("index", req.path, req.query_string.decode("utf-8", "replace"), request_lang())
        return shared_page(ctx, key, lambda: default_index(*args, **kwargs), depends_on(page))

    app.index = index
