"""You said, we did: resolved comments with the city's answer, newest first, by category; 50 a page, paged by
keyset (``?cursor=``: a plain "older" link, so it works without JavaScript; a bad cursor is a 400)."""

from __future__ import annotations

from typing import Any

import flask
from dash import Dash, html

from dashboard.context import AppContext
from dashboard.i18n import translator
from dashboard.ui.comments import category_label, comment_list_item
from dashboard.ui.components import page_frame
from data_sources.comments.photo_records import before_after
from data_sources.comments.records import latest_public_answers, resolved_page
from data_sources.store.paging import BadCursor

PATH = "/you-said-we-did"
FIRST_PAINT = True  # the list is in the HTML page: readable and pageable without JavaScript
SHARED = False  # built for each visit (dashboard/pages/__init__.py)
DEPENDS = "all"
PAGE_SIZE = 50


def layout(ctx: AppContext, lang: str, query: dict, **_params: Any) -> Any:
    _ = translator(lang)
    cats = list(ctx.city.city.comment_categories)
    cat = (query.get("category") or [None])[0]
    cat = cat if cat in cats else None
    cursor = (query.get("cursor") or [None])[0]
    try:
        rows, older = resolved_page(ctx.engine, category=cat, cursor=cursor, limit=PAGE_SIZE)
    except BadCursor:  # over HTTP the request hook below answers 400 first; here Dash's router asked
        rows, older = [], None
        cursor = "bad"
    answers = latest_public_answers(ctx.engine, [r["id"] for r in rows])
    photos = before_after(ctx.engine, [r["id"] for r in rows])
    here = f"/you-said-we-did?lang={lang}" + (f"&category={cat}" if cat else "")
    pager = [
        *([html.A(_("Newest"), href=here, id="said-did-newest")] if cursor else []),
        *([" · "] if cursor and older else []),
        *([html.A(_("Older"), href=f"{here}&cursor={older}", id="said-did-older", rel="next")] if older else []),
    ]
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
            else html.P(
                _("This link to an older page is not valid.") if cursor == "bad" else _("No resolved comments yet."),
                className="muted",
            ),
            *([html.Nav(pager, className="pager", id="said-did-pager", **{"aria-label": _("Pages")})] if pager else []),
            html.P(html.A(_("How the city answers: the ledger"), href=f"/ledger?lang={lang}")),
        ],
        active=PATH,
    )


def register(app: Dash, ctx: AppContext) -> None:
    """No callbacks: the page is plain HTML. A request for it with a cursor this list did not hand out gets a
    400 with a short reason, not an empty page."""

    @app.server.before_request
    def _bad_cursor() -> flask.Response | None:
        req = flask.request
        if req.path != PATH or "cursor" not in req.args:
            return None
        try:
            resolved_page(ctx.engine, cursor=req.args.get("cursor"), limit=1)
        except BadCursor as e:
            return flask.Response(f"Bad cursor: {e}.", status=400, mimetype="text/plain")
        return None
