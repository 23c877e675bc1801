"""Atom feeds (no account needed) and the public comment heatmap, as a Flask blueprint extension.

* ``/feeds/comments/<id>.atom``: one comment's status changes and the city's answers;
* ``/feeds/districts/<id>.atom`` and ``/feeds/categories/<cat>.atom``: the latest published comments there;
* ``GET /api/v1/comments/heatmap?res=R&category=C&since=D``: published comments per H3 cell, cells with fewer
  than the city's ``feedback.min_cell_count`` comments suppressed.

Feeds are written by feedgen (which escapes every text), entries carry text content only, and nothing private
(email, exact location, unredacted text, internal notes) is ever selected.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, timezone
from typing import Any
from urllib.parse import parse_qs

import flask
import h3
from dash import Dash
from feedgen.feed import FeedGenerator
from lxml import etree
from sqlalchemy import select

from dashboard.context import AppContext, get_context
from dashboard.http.responses import query_time
from dashboard.i18n import translator
from dashboard.server.cache import cached
from dashboard.server.hosts import public_root
from dashboard.server.limits import limiter
from dashboard.ui.comments import category_label, evidence_text, status_label
from data_sources.comments.photo_records import photos_of
from data_sources.store.paging import BadCursor, decode_cursor, encode_cursor
from data_sources.comments.records import (
    MAX_ID,
    UPDATED_CURSOR,
    latest_public_answers,
    public_comment,
    public_history,
    published_comments,
)
from data_sources.store import queries
from data_sources.store.models import H3_RESOLUTIONS, District

ATOM = "application/atom+xml; charset=utf-8"
ATOM_NS = "{http://www.w3.org/2005/Atom}"
FEED_SIZE = 50
# Characters XML 1.0 cannot carry; officials' text does not pass through clean_text, so strip them here.
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _x(text: str | None) -> str:
    return _XML_BAD.sub("", text or "")


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt


def _lang(ctx: AppContext) -> str:
    return ctx.language(parse_qs(flask.request.query_string.decode()))


def _feed(ctx: Any, lang: str, title: str, self_path: str, page_path: str) -> FeedGenerator:
    root = public_root(ctx)
    fg = FeedGenerator()
    fg.id(root + self_path)
    fg.title(_x(title))
    fg.author({"name": _x(ctx.city.city.name)})
    fg.link(href=root + self_path, rel="self", type="application/atom+xml")
    fg.link(href=root + page_path, rel="alternate", type="text/html")
    fg.language(lang)
    fg.updated(datetime(2000, 1, 1, tzinfo=timezone.utc))
    return fg


def _with_enclosures(atom: bytes) -> bytes:
    """feedgen 1.0 writes an entry's links without their ``rel`` and ``type`` (its loop variable shadows the link's
    data), so photo links are marked here as what they are: enclosures (RFC 4287 4.2.7.2), JPEG."""
    root = etree.fromstring(atom)
    for link in root.iterfind(f"{ATOM_NS}entry/{ATOM_NS}link"):
        if "/media/" in (link.get("href") or ""):
            link.set("rel", "enclosure")
            link.set("type", "image/jpeg")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _respond(fg: FeedGenerator, entries_updated: list[datetime]) -> flask.Response:
    if entries_updated:
        fg.updated(_utc(max(entries_updated)))
    resp = flask.Response(_with_enclosures(fg.atom_str(pretty=True)), mimetype="application/atom+xml")
    resp.headers["Content-Type"] = ATOM
    resp.headers["Cache-Control"] = "public, max-age=300"
    return resp


def _comment_entries(ctx: AppContext, fg: FeedGenerator, lang: str, comments: list[dict]) -> list[datetime]:
    _ = translator(lang)
    root = public_root(ctx)
    answers = latest_public_answers(ctx.engine, [c["id"] for c in comments])
    photos = photos_of(ctx.engine, [c["id"] for c in comments])
    stamps = []
    for c in comments:
        fe = fg.add_entry(order="append")
        url = f"{root}/comments/{c['id']}"
        fe.id(url)
        fe.link(href=url, rel="alternate", type="text/html")
        for p in photos.get(c["id"], []):  # RFC 4287 4.2.7.2: related resources worth downloading
            fe.link(href=f"{root}/media/{p['id']}.jpg", rel="enclosure", type="image/jpeg")
        fe.title(
            _x(
                f"{category_label(c['category'], _)} · {status_label(c['status'], c.get('closed_reason'), _)}"
                f"{' · ' + c['district'] if c.get('district') else ''}"
            )
        )
        parts = [c["text"]]
        if c["id"] in answers:
            parts.append(_("The city: {answer}", answer=answers[c["id"]]))
        ev = evidence_text(c.get("evidence"), lang, ctx.city.city.timezone)
        if ev:
            parts.append(ev)
        fe.content(_x("\n\n".join(parts)), type="text")
        fe.published(_utc(c["created_at"]))
        fe.updated(_utc(c["updated_at"]))
        stamps.append(c["updated_at"])
    return stamps


def comment_feed(comment_id: int) -> Any:
    ctx = get_context()
    c = public_comment(ctx.engine, comment_id)
    if c is None or c["moderation"] != "published":
        flask.abort(404)
    lang = _lang(ctx)
    _ = translator(lang)
    fg = _feed(
        ctx,
        lang,
        _("Comment {n}: {category}", n=c["id"], category=category_label(c["category"], _)),
        f"/feeds/comments/{comment_id}.atom",
        f"/comments/{comment_id}",
    )
    root = public_root(ctx)
    stamps = [c["created_at"]]
    first = fg.add_entry(order="append")
    first.id(f"{root}/comments/{comment_id}#sent")
    first.title(_x(_("Comment sent")))
    first.link(href=f"{root}/comments/{comment_id}", rel="alternate", type="text/html")
    first.content(_x(c["text"]), type="text")
    first.updated(_utc(c["created_at"]))
    for e in public_history(ctx.engine, comment_id):
        fe = fg.add_entry(order="append")
        fe.id(f"{root}/comments/{comment_id}#event-{e['id']}")
        fe.link(href=f"{root}/comments/{comment_id}", rel="alternate", type="text/html")
        title = (
            _("Status: {s}", s=status_label(e["to_status"] or "", None, _))
            if e["kind"] == "status"
            else _("Answer from the city")
        )
        fe.title(_x(title))
        fe.content(_x(e.get("public_text") or title), type="text")
        fe.updated(_utc(e["created_at"]))
        stamps.append(e["created_at"])
    return _respond(fg, stamps)


def _after() -> Any:
    """The keyset position in ``?cursor=`` (older entries, RFC 5005 paging); a bad cursor is a 400."""
    cursor = flask.request.args.get("cursor")
    if cursor is None:
        return None
    try:
        return decode_cursor(cursor, UPDATED_CURSOR)
    except BadCursor as e:
        flask.abort(flask.Response(f"Bad cursor: {e}.", status=400, mimetype="text/plain"))


def _paged(ctx: AppContext, fg: FeedGenerator, comments: list[dict]) -> list[dict]:
    """A full page links to the next (older) one: ``<link rel="next">`` with the cursor after its last entry."""
    if len(comments) == FEED_SIZE:
        last = comments[-1]
        cursor = encode_cursor([last["updated_at"], last["id"]])
        fg.link(href=f"{public_root(ctx)}{flask.request.path}?cursor={cursor}", rel="next")
    return comments


def district_feed(district_id: int) -> Any:
    ctx = get_context()
    with ctx.engine.connect() as conn:
        name = conn.scalar(select(District.name).where(District.id == district_id))
    if name is None:
        flask.abort(404)
    lang = _lang(ctx)
    _ = translator(lang)
    fg = _feed(
        ctx,
        lang,
        _("Comments in {district}", district=name),
        f"/feeds/districts/{district_id}.atom",
        "/you-said-we-did",
    )
    comments = published_comments(ctx.engine, district_id=district_id, limit=FEED_SIZE, after=_after())
    return _respond(fg, _comment_entries(ctx, fg, lang, _paged(ctx, fg, comments)))


def category_feed(category: str) -> Any:
    ctx = get_context()
    if category not in ctx.city.city.comment_categories:
        flask.abort(404)
    lang = _lang(ctx)
    _ = translator(lang)
    fg = _feed(
        ctx,
        lang,
        _("Comments about {category}", category=category_label(category, _)),
        f"/feeds/categories/{category}.atom",
        f"/you-said-we-did?category={category}",
    )
    comments = published_comments(ctx.engine, category=category, limit=FEED_SIZE, after=_after())
    return _respond(fg, _comment_entries(ctx, fg, lang, _paged(ctx, fg, comments)))


class BadQuery(ValueError):
    pass


def parse_heatmap_query(args: Mapping[str, str], categories: list[str]) -> tuple[int, str | None, datetime | None]:
    """(resolution, category, since) from the query string; BadQuery with a message on anything else.

    ``since`` counts whole UTC days: a time of day is dropped (2026-01-31T15:20 means from 2026-01-31 00:00), so
    bisecting it cannot time a comment more finely than its day (README "Privacy model")."""
    raw_res = args.get("res", "8")
    if not re.fullmatch(r"[0-9]{1,2}", str(raw_res)) or int(raw_res) not in H3_RESOLUTIONS:  # "²".isdigit()
        raise BadQuery(f"res must be one of {', '.join(map(str, H3_RESOLUTIONS))}")
    category = args.get("category") or None
    if category is not None and category not in categories:
        raise BadQuery(f"category must be one of {', '.join(categories)}")
    since = None
    if args.get("since"):
        try:
            since = query_time(args["since"])
        except ValueError:
            try:
                since = datetime.combine(date.fromisoformat(args["since"]), datetime.min.time())
            except ValueError:
                raise BadQuery("since must be an ISO date such as 2026-01-31, between 1970 and 2999") from None
        if since.tzinfo is not None:
            since = since.astimezone(timezone.utc).replace(tzinfo=None)
        since = datetime.combine(since.date(), datetime.min.time())
    return int(raw_res), category, since


def heatmap() -> Any:
    ctx = get_context()
    try:
        res, category, since = parse_heatmap_query(flask.request.args, list(ctx.city.city.comment_categories))
    except BadQuery as e:
        return flask.jsonify({"error": str(e)}), 400
    k = ctx.city.feedback.min_cell_count
    cells = cached(
        ctx,
        f"heatmap:{res}:{category}:{since}",
        lambda: queries.public_comment_cells(ctx.engine, resolution=res, min_count=k, category=category, since=since),
        depends="comments",
    )
    out = []
    for cell, n in zip(cells["cell"].tolist(), cells["n"].tolist()):
        s = h3.int_to_str(int(cell))
        lat, lon = h3.cell_to_latlng(s)
        out.append({"h3": s, "lat": round(lat, 6), "lon": round(lon, 6), "count": int(n)})
    out.sort(key=lambda c: (-c["count"], c["h3"]))
    resp = flask.jsonify(
        {
            "resolution": res,
            "category": category,
            "since": since.date().isoformat() if since else None,
            "min_count": k,
            "cells": out,
        }
    )
    resp.headers["Cache-Control"] = "public, max-age=300"
    return resp


def init_app(app: Dash, ctx: AppContext) -> None:
    bp = flask.Blueprint("citydash_feeds", __name__)
    # Ids above a BIGINT are no row: 404 from the converter, not an overflow in the database.
    bp.add_url_rule(f"/feeds/comments/<int(max={MAX_ID}):comment_id>.atom", view_func=comment_feed)
    bp.add_url_rule(f"/feeds/districts/<int(max={MAX_ID}):district_id>.atom", view_func=district_feed)
    bp.add_url_rule("/feeds/categories/<category>.atom", view_func=category_feed)
    bp.add_url_rule("/api/v1/comments/heatmap", view_func=heatmap)
    limiter(ctx).limit("120/minute")(bp)
    app.server.register_blueprint(bp)
