"""Page registry: every page (``dashboard.context.Page``) in ``PAGE_LIST``, and the router from a URL to its layout.

A page is a module here with ``PATH`` (a pattern such as ``/comments/<int:comment_id>``), ``SHARED``,
``DEPENDS``, ``FIRST_PAINT``, ``layout(ctx, lang, query, **params)`` and ``register(app, ctx)`` for its callbacks
(and, if its first paint is not its whole layout, ``first_paint(ctx, lang, query, **params)``: /report's top);
the three indicator pages are one module's objects (``dashboard.pages.indicator``). To add a page, write its module
and list it in ``PAGE_LIST``.

A ``SHARED`` page is the same for every visitor (no session, no per-visit token): each worker keeps it per
language and query, and rebuilds it only when what it shows has changed (``dashboard.server.cache.shared_page``).
``DEPENDS`` says which data that is: "readings" (observations and sources), "comments", or "all"."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import parse_qs

from dash import html
from plotly.io.json import to_json_plotly as to_json  # the encoder Dash sends callback answers with

from dashboard.context import AppContext, Page, Query
from dashboard.i18n import translator
from dashboard.pages import (
    about,
    comment,
    home,
    indicator,
    ledger,
    officials_audit,
    officials_map,
    officials_moderation,
    officials_queue,
    report,
    said_did,
    track,
)
from dashboard.server.cache import shared_page
from dashboard.ui.components import page_frame
from data_sources.comments.records import MAX_ID

PAGE_LIST: list[Page] = [
    home,
    indicator.AIR,
    indicator.TRAFFIC,
    indicator.CYCLING,
    about,
    report,
    comment,
    track,
    said_did,
    ledger,
    officials_map,
    officials_queue,
    officials_moderation,
    officials_audit,
]

# ASCII digits only ("\d" takes "٣"), and no more than a BIGINT holds: a longer number matches no page (the
# "not found" frame) instead of failing in the database.
_CONVERTERS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "int": (r"[0-9]{1,19}", lambda v: n if (n := int(v)) <= MAX_ID else None),
    "str": (r"[^/]+", str),
}


@dataclass
class Route:
    """A page and its compiled ``PATH``."""

    page: Page
    pattern: re.Pattern[str]
    converters: dict[str, Callable[[str], Any]]

    def match(self, path: str) -> dict[str, Any] | None:
        m = self.pattern.fullmatch(path.rstrip("/") or "/")
        if not m:
            return None
        params = {k: self.converters[k](v) for k, v in m.groupdict().items()}
        return None if None in params.values() else params


def _compile(path: str) -> tuple[re.Pattern[str], dict[str, Callable[[str], Any]]]:
    conv: dict[str, Callable[[str], Any]] = {}

    def repl(m: re.Match[str]) -> str:
        kind, name = (m.group(1) or "str"), m.group(2)
        regex, fn = _CONVERTERS[kind]
        conv[name] = fn
        return f"(?P<{name}>{regex})"

    return re.compile(re.sub(r"<(?:(\w+):)?(\w+)>", repl, path.rstrip("/") or "/")), conv


PAGES: list[Route] = [Route(page, *_compile(page.PATH)) for page in PAGE_LIST]


def find(pathname: str | None) -> tuple[Route, dict[str, Any]] | tuple[None, None]:
    """The first page whose PATH matches, and its parameters."""
    for page in PAGES:
        params = page.match(pathname or "/")
        if params is not None:
            return page, params
    return None, None


def resolve(
    ctx: AppContext, pathname: str | None, search: str | None, plain: bool = False, first_paint: bool = False
) -> Any:
    """The layout for a URL: the first page whose PATH matches, in the language the query or browser asks for.

    ``plain``: a shared page as the JSON-ready dicts Dash would send (the router callback's answer), so that a
    busy page is not serialised component by component for every visitor. ``first_paint``: what the HTML page
    shows before Dash draws, which is the layout unless the page has a ``first_paint`` of its own (the top of
    the page only, such as /report's heading and intro)."""
    # The router's inputs come from the request body: anything that is not a string is no address.
    search = search if isinstance(search, str) else ""
    query: Query = parse_qs(search.lstrip("?"))
    lang = ctx.language(query)
    page, params = find(pathname) if isinstance(pathname, str) else (None, None)
    if page is None or params is None:
        return not_found(ctx, lang)
    own_first_paint = getattr(page.page, "first_paint", None)
    if first_paint and callable(own_first_paint):
        return own_first_paint(ctx, lang, query, **params)
    if not page.page.SHARED:
        return page.page.layout(ctx, lang, query, **params)

    key, depends = (pathname, search or "", lang), depends_on(page)

    def layout() -> Any:
        return shared_page(ctx, ("layout", *key), lambda: page.page.layout(ctx, lang, query, **params), depends)

    if plain:
        return shared_page(ctx, ("plain", *key), lambda: json.loads(to_json(layout())), depends)
    return layout()


def depends_on(route: Route) -> str:
    """Which data a shared page shows (its ``DEPENDS``): see dashboard.server.cache.DEPENDS."""
    return route.page.DEPENDS


def not_found(ctx: AppContext, lang: str) -> html.Div:
    _ = translator(lang)
    return page_frame(ctx, lang, [html.H1(_("Page not found")), html.A(_("Back to the map"), href="/")])
