"""/air: the air indicator page (see dashboard/pages/indicator.py)."""
from __future__ import annotations

from dashboard.pages import indicator as theme_page

PATH = "/air"
FIRST_PAINT = True  # server-rendered first paint (dashboard/http/frontend.py)
SHARED = True  # the same for every visitor (dashboard/pages/__init__.py)
DEPENDS = "readings"  # observations and sources: a stream of comments does not rebuild it


def layout(ctx, lang: str, query: dict, **_params):  # noqa: ANN001
    return theme_page.layout(ctx, lang, query, "air")


def register(app, ctx) -> None:  # noqa: ANN001
    theme_page.register(app, ctx, "air")
