"""Page registry. Each page module defines ``PATH`` (a pattern such as ``/comments/<int:id>``), ``layout(ctx,
lang, query, **params)`` and ``register(app, ctx)`` for its callbacks; add it to ``PAGE_MODULES``.

A page whose layout is the same for every visitor (no session, no per-visit token) sets ``SHARED = True``: each
worker then keeps it per language and query, and rebuilds it only when what it shows has changed
(``dashboard.server.cache.shared_page``). ``DEPENDS`` says which data that is: "readings" (observations and sources),
"comments", or "all" (the default)."""
from __future__ import annotations

import importlib
import json
import re
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from dash import html
from plotly.io.json import to_json_plotly as to_json  # the encoder Dash sends callback answers with

PAGE_MODULES = [
    "dashboard.pages.home", "dashboard.pages.air", "dashboard.pages.traffic", "dashboard.pages.cycling",
    "dashboard.pages.about", "dashboard.pages.report", "dashboard.pages.comment", "dashboard.pages.track",
    "dashboard.pages.said_did", "dashboard.pages.ledger",
    "dashboard.pages.officials_map", "dashboard.pages.officials_queue", "dashboard.pages.officials_moderation",
    "dashboard.pages.officials_audit",
]

_CONVERTERS = {"int": (r"\d+", int), "str": (r"[^/]+", str)}


@dataclass
class Page:
    module: ModuleType
    pattern: re.Pattern
    converters: dict[str, Any]

    def match(self, path: str) -> dict[str, Any] | None:
        m = self.pattern.fullmatch(path.rstrip("/") or "/")
        if not m:
            return None
        return {k: self.converters[k](v) for k, v in m.groupdict().items()}

    def layout(self, ctx, lang, query, **params):  # noqa: ANN001
        return self.module.layout(ctx, lang, query, **params)

    def register(self, app, ctx) -> None:  # noqa: ANN001
        reg = getattr(self.module, "register", None)
        if reg:
            reg(app, ctx)


def _compile(path: str) -> tuple[re.Pattern, dict[str, Any]]:
    conv: dict[str, Any] = {}

    def repl(m: re.Match) -> str:
        kind, name = (m.group(1) or "str"), m.group(2)
        regex, fn = _CONVERTERS[kind]
        conv[name] = fn
        return f"(?P<{name}>{regex})"

    return re.compile(re.sub(r"<(?:(\w+):)?(\w+)>", repl, path.rstrip("/") or "/")), conv


def _load() -> list[Page]:
    pages = []
    for name in PAGE_MODULES:
        mod = importlib.import_module(name)
        pat, conv = _compile(mod.PATH)
        pages.append(Page(mod, pat, conv))
    return pages


PAGES = _load()


def find(pathname: str | None) -> tuple[Page, dict[str, Any]] | tuple[None, None]:
    """The first page whose PATH matches, and its parameters."""
    for page in PAGES:
        params = page.match(pathname or "/")
        if params is not None:
            return page, params
    return None, None


def resolve(ctx, pathname: str | None, search: str | None, plain: bool = False):  # noqa: ANN001
    """The layout for a URL: the first page whose PATH matches, in the language the query or browser asks for.

    ``plain``: a shared page as the JSON-ready dicts Dash would send (the router callback's answer), so that a
    busy page is not serialised component by component for every visitor."""
    from urllib.parse import parse_qs

    query = parse_qs((search or "").lstrip("?"))
    lang = ctx.language(query)
    page, params = find(pathname)
    if page is None:
        return not_found(ctx, lang)
    if not getattr(page.module, "SHARED", False):
        return page.layout(ctx, lang, query, **params)
    from dashboard.server.cache import shared_page

    key, depends = (pathname, search or "", lang), depends_on(page)
    layout = lambda: shared_page(ctx, ("layout", *key), lambda: page.layout(ctx, lang, query, **params),  # noqa: E731
                                 depends)
    if plain:
        return shared_page(ctx, ("plain", *key), lambda: json.loads(to_json(layout())), depends)
    return layout()


def depends_on(page: Page) -> str:
    """Which data a shared page shows (its module's ``DEPENDS``): see dashboard.server.cache.DEPENDS."""
    return getattr(page.module, "DEPENDS", "all")


def not_found(ctx, lang: str):  # noqa: ANN001
    from dashboard.ui.components import page_frame
    from dashboard.i18n import translator

    _ = translator(lang)
    return page_frame(ctx, lang, [html.H1(_("Page not found")), html.A(_("Back to the map"), href="/")])
