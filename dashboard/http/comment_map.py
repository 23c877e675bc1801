"""``GET /comments/<id>/map.svg``: the small map of a comment's public place on its page (dashboard/ui/place_map.py).

Only for a published comment, drawn from its H3 cell (never the exact point); held, hidden and unknown comments
answer 404 alike, so the address tells nothing about them. The language (``?lang=``) only changes the map's title.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import flask

from dashboard.server.cache import cached
from dashboard.ui.place_map import areas_from, map_title, place_svg
from data_sources.comments.records import MAX_ID, public_comment
from data_sources.store import queries

if TYPE_CHECKING:
    from dash import Dash

    from dashboard.context import AppContext

PATH = "/comments/<int:comment_id>/map.svg"
CACHE = "public, max-age=3600"  # a comment hidden later may stay in a browser's cache for up to an hour


def comment_map(ctx: AppContext, comment_id: int, lang: str) -> flask.Response:
    c = public_comment(ctx.engine, comment_id) if 1 <= comment_id <= MAX_ID else None
    if c is None or c["moderation"] != "published" or c.get("h3_r9") is None:
        flask.abort(404)
    rows = cached(
        ctx,
        "place-map:districts",
        lambda: [(int(r.id), str(r.name), r.geometry) for r in queries.districts(ctx.engine).itertuples()],
        depends="readings",
    )
    svg = place_svg(int(c["h3_r9"]), areas_from(rows, c.get("district_id")), map_title(lang, c.get("district")))
    resp = flask.Response(svg, mimetype="image/svg+xml")
    resp.headers["Cache-Control"] = CACHE
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


def init_app(app: Dash, ctx: AppContext) -> None:
    def view(comment_id: int) -> flask.Response:
        return comment_map(
            ctx, comment_id, ctx.language({k: flask.request.args.getlist(k) for k in flask.request.args})
        )

    app.server.add_url_rule(PATH, "comment_map", view)
