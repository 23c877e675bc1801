"""What the browser downloads first, kept small for a mid-range phone:

* the HTML page carries a static copy of the page (dashboard/http/ssr.py) for pages that set ``FIRST_PAINT = True``,
  so KPI text shows before any JavaScript runs, and ``<html lang>`` in the visitor's language;
* plotly.js is not loaded up front: assets/citydash.js fetches a partial bundle (built by tools/build_plotly.sh:
  assets/deferred/plotly-citydash.min.js with the map, plotly-charts.min.js for the indicator charts, a third of
  its size) when a slot that needs it is wanted (see assets/citydash.js); the ``deferred`` folder is kept out of
  Dash's automatic script tags;
* Dash's @babel/polyfill (for browsers without ES2015) is dropped; the one part Dash's code calls,
  regeneratorRuntime, is served from assets/regenerator-runtime.min.js; dash_table's bundle is dropped outside the
  officials' pages (no public page draws a DataTable);
* Dash's scripts are ``defer``red (they still run in order) and the renderer starts on DOMContentLoaded, so they
  no longer block the first paint, and only once the first paint is on screen (assets/citydash.js);
* pages that are plain reading (``PLAIN_PAGES``: about, the ledger, "you said, we did", the tracking page) are served
  as plain HTML without Dash's scripts at all: no renderer to download, no layout to hydrate (the renderer took
  seconds of main thread on a long list of comments on a mid-range phone). Should such a page ever hold a component
  that a callback reads or writes, it is served through Dash again, with the first paint (``plain_html``).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import flask
from dash import Dash
from dash.development.base_component import Component
from markupsafe import escape

from dashboard.context import AppContext
from dashboard.http.pwa import head_tags
from dashboard.http.ssr import to_html
from dashboard.i18n import PLOTLY_LOCALES
from dashboard.pages import about, depends_on, find, ledger, resolve, said_did, track
from dashboard.server.cache import shared_page

log = logging.getLogger("citydash")
PLOTLY_BUNDLE = "deferred/plotly-citydash.min.js"  # every trace type we draw, with the map (maplibre-gl)
CHARTS_BUNDLE = "deferred/plotly-charts.min.js"  # the indicator pages' charts only: no map
_POLYFILL = re.compile(r'<script src="[^"]*/deps/polyfill@[^"]*"></script>\s*')
_SCRIPT_SRC = re.compile(r"<script src=")
_DASH_TABLE = re.compile(r'<script defer src="[^"]*/dash_table/bundle[^"]*"></script>\s*')
OFFICIALS_PREFIX = "/officials"
_SCRIPT_TAG = re.compile(r"<script[^>]*\ssrc=\"([^\"]*)\"[^>]*></script>\s*")
# Pages with nothing to interact with but links: served as plain HTML (the "not found" frame is too).
PLAIN_PAGES = (about, ledger, said_did, track)
# Components that draw nothing and need no renderer when no callback uses them.
_INERT = {("dash_core_components", "Store"), ("dash_core_components", "Location")}


def _callback_ids(app: Dash) -> set[str]:
    """The (string) id of every component that a callback reads or writes."""
    ids: set[str] = set()
    for key, spec in app.callback_map.items():
        ids.update(d["id"] for d in [*spec.get("inputs", []), *spec.get("state", [])] if isinstance(d["id"], str))
        ids.update(part.rsplit(".", 1)[0] for part in key.strip(".").split("...") if not part.startswith("{"))
    return ids


def _no_store(response: flask.Response) -> flask.Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def plain_html(layout: Any, callback_ids: set[str]) -> str | None:
    """The page as plain HTML, or None when it holds something only Dash can draw, a component a callback uses,
    or a pattern-matching (dict) id, which some callback may match."""

    def inert(node: Any) -> bool:
        if isinstance(node, (list, tuple)):
            return all(inert(n) for n in node)
        if not isinstance(node, Component):
            return True
        if getattr(node, "id", None) is not None and (not isinstance(node.id, str) or node.id in callback_ids):
            return False
        if node._namespace != "dash_html_components" and (node._namespace, node._type) not in _INERT:
            return False
        return inert(getattr(node, "children", None))

    return to_html(layout) if inert(layout) else None


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
    # It starts once the first paint has been painted (assets/citydash.js, ``citydashAfterFirstPaint``), or at
    # once without that script.
    app.renderer = (
        'window.addEventListener("DOMContentLoaded", function () { '
        "(window.citydashAfterFirstPaint || function (run) { run(); })(function () { "
        f"{start} }}); }});"
    )
    default = app.interpolate_index
    assets = Path(app.config.assets_folder)

    def request_lang() -> str:
        return ctx.language({k: flask.request.args.getlist(k) for k in flask.request.args})

    assets_prefix = app.get_asset_url("")
    known: list[set[str]] = []  # the callbacks' ids, read at the first page (every callback is registered by then)

    def plain_page(path: str, search: str) -> str | None:
        page, _params = find(path)
        if page is not None and page.page not in PLAIN_PAGES:
            return None
        if not known:
            known.append(_callback_ids(app))
        try:
            html = plain_html(resolve(ctx, path, search), known[0])
        except Exception:  # Dash draws the page (and says what failed) as it would without this
            log.exception("plain HTML of %s failed", path)
            return None
        return None if html is None else f'<div id="page" class="page plain-page">{html}</div>'

    def own_scripts(scripts: str) -> str:
        """Only this app's own asset scripts (the renderer's helpers left out)."""
        return "".join(
            m.group(0)
            for m in _SCRIPT_TAG.finditer(scripts)
            if m.group(1).startswith(assets_prefix) and "regenerator-runtime" not in m.group(1)
        )

    def interpolate_index(**kw: Any) -> Any:
        req = flask.request
        search = req.query_string.decode("utf-8", "replace")
        lang = request_lang()
        kw["scripts"] = _SCRIPT_SRC.sub("<script defer src=", _POLYFILL.sub("", kw.get("scripts", "")))
        if not req.path.startswith(OFFICIALS_PREFIX):  # only officials' pages draw a DataTable
            kw["scripts"] = _DASH_TABLE.sub("", kw["scripts"])
        for name, file in (("citydash-plotly", PLOTLY_BUNDLE), ("citydash-plotly-charts", CHARTS_BUNDLE)):
            try:
                mtime = int((assets / file).stat().st_mtime)
            except OSError:
                log.warning("partial plotly.js bundle missing (%s): charts use Dash's full plotly.js", assets / file)
                continue
            url = f"{app.get_asset_url(file)}?m={mtime}"
            kw["metas"] = kw.get("metas", "") + f'\n      <meta name="{name}" content="{escape(url)}">'
        kw["metas"] = kw.get("metas", "") + plotly_locale_meta(app, lang)
        kw["metas"] = kw.get("metas", "") + head_tags(lang)  # the installable app (dashboard/http/pwa.py)
        plain = plain_page(req.path, search)
        if plain is not None:
            # Dash checks that its index holds the renderer: the plain page is handed to index() beside it.
            kw_plain = {**kw, "app_entry": plain, "scripts": own_scripts(kw["scripts"]), "config": "", "renderer": ""}
            flask.g.citydash_plain = default(**kw_plain).replace("<html>", f'<html lang="{escape(lang)}">', 1)
        kw["app_entry"] = first_paint(ctx, req.path, search) + kw.get("app_entry", "")
        return default(**kw).replace("<html>", f'<html lang="{escape(lang)}">', 1)

    app.interpolate_index = interpolate_index
    default_index = app.index

    def build_index(*args: Any, **kwargs: Any) -> Any:
        dash_index = default_index(*args, **kwargs)
        return flask.g.pop("citydash_plain", dash_index)

    def index(*args: Any, **kwargs: Any) -> Any:
        # The whole HTML page of a public page is the same for every visitor in a language: kept like the page.
        req = flask.request
        page, _params = find(req.path)
        if page is not None and page.page is track:
            # the author's private page is now in the HTML itself (it came by a POST before): kept by no cache
            flask.after_this_request(_no_store)
        if page is None or not page.page.SHARED:
            return build_index(*args, **kwargs)
        key = ("index", req.path, req.query_string.decode("utf-8", "replace"), request_lang())
        return shared_page(ctx, key, lambda: build_index(*args, **kwargs), depends_on(page))

    app.index = index
