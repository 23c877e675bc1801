"""The author's private tracking page: their comment (even while held for review) and what the city did."""

from __future__ import annotations

from typing import Any

from dash import Dash, html

from dashboard.context import AppContext
from dashboard.i18n import translator
from dashboard.pages.comment import not_available
from dashboard.ui.comments import comment_view
from dashboard.ui.components import page_frame
from data_sources.comments.photo_records import answer_photos_of, photos_of
from data_sources.comments.records import comment_by_token, public_history

PATH = "/track/<token>"
FIRST_PAINT = False
SHARED = False  # built for each visit (dashboard/pages/__init__.py)
DEPENDS = "all"


def layout(ctx: AppContext, lang: str, query: dict, token: str = "", **_params: Any) -> Any:
    _ = translator(lang)
    c = comment_by_token(ctx.engine, token)
    if c is None:
        return not_available(ctx, lang)
    note = html.P(
        _(
            "This is your private tracking link. Keep it to follow your comment; anyone who has the link "
            "can open this page."
        ),
        className="notice",
        role="note",
    )
    photos = photos_of(ctx.engine, [c["id"]]).get(c["id"], [])
    answer_photos = answer_photos_of(ctx.engine, [c["id"]])
    return page_frame(
        ctx,
        lang,
        [
            note,
            comment_view(
                ctx,
                lang,
                c,
                public_history(ctx.engine, c["id"]),
                private=True,
                photos=photos,
                answer_photos=answer_photos,
            ),
        ],
        active="",
    )


def register(app: Dash, ctx: AppContext) -> None:
    """No callbacks: the page is plain HTML."""
