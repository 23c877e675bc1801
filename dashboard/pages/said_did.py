"""You said, we did: resolved comments with the city's answer, newest first, by category."""

from __future__ import annotations

from typing import Any

from dash import Dash, html

from dashboard.context import AppContext
from dashboard.i18n import translator
from dashboard.ui.comments import category_label, comment_list_item
from dashboard.ui.components import page_frame
from data_sources.comments.photo_records import before_after
from data_sources.comments.records import latest_public_answers, published_comments

PATH = "/you-said-we-did"
FIRST_PAINT = False
SHARED = False  # built for each visit (dashboard/pages/__init__.py)
DEPENDS = "all"
PAGE_SIZE = 50


def layout(ctx: AppContext, lang: str, query: dict, **_params: Any) -> Any:
    _ = translator(lang)
    cats = list(ctx.city.city.comment_categories)
    cat = (query.get("category") or [None])[0]
    cat = cat if cat in cats else None
    rows = published_comments(ctx.engine, category=cat, status="resolved", limit=PAGE_SIZE, order_by_resolved=True)
    answers = latest_public_answers(ctx.engine, [r["id"] for r in rows])
    photos = before_after(ctx.engine, [r["id"] for r in rows])
    tz = ctx.city.city.timezone
    filters = [
        html.A(
            _("All"), href=f"/you-said-we-did?lang={lang}", className="chip" + (" chip-active" if cat is None else "")
        )
    ]
    filters += [
        html.A(
            category_label(c, _),
            href=f"/you-said-we-did?category={c}&lang={lang}",
            className="chip" + (" chip-active" if c == cat else ""),
        )
        for c in cats
    ]
    feed = f"/feeds/categories/{cat}.atom" if cat else None
    return page_frame(
        ctx,
        lang,
        [
            html.H1(_("You said, we did")),
            html.P(_("Problems citizens reported that the city has resolved, with the city's answer.")),
            html.Nav(filters, className="chips", **{"aria-label": _("Category")}),
            *([html.P(html.A(_("Follow new comments in this category (Atom feed)"), href=feed))] if feed else []),
            html.P(
                html.A(
                    _("Get new comments by mail: in a district, a category or near a place"),
                    href=f"/alerts?lang={lang}" + (f"&category={cat}" if cat else ""),
                    id="said-did-alerts",
                )
            ),
            html.Ul(
                [comment_list_item(r, answers.get(r["id"]), lang, tz, photos.get(r["id"])) for r in rows],
                className="comment-list",
                id="said-did-list",
            )
            if rows
            else html.P(_("No resolved comments yet."), className="muted"),
            html.P(html.A(_("How the city answers: the ledger"), href=f"/ledger?lang={lang}")),
        ],
        active=PATH,
    )


def register(app: Dash, ctx: AppContext) -> None:
    """No callbacks: the page is plain HTML."""
