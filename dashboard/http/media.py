"""Photos over HTTP.

* ``POST /report/photos`` (multipart, field ``photo``): a citizen's upload, made safe and stored as a pending photo;
  answers ``{"ok": true, "photo_id": ...}`` or ``{"ok": false, "message": ...}`` (413 too large, 415 not a photo,
  429 too many). Send then carries the ids (``photos`` in ``/report/send``).
* ``GET /media/<id>.jpg`` and ``/media/<id>.thumb.jpg``: a public photo, from the app, with ``nosniff``, a CSP
  that lets nothing run, and a day's cache; pending, held and hidden photos answer 404 like unknown ones.
* ``GET /officials/media/<name>``: the same bytes for moderators, whatever the state (held comments, hidden
  photos), never cached.
"""

from __future__ import annotations

from typing import IO, TYPE_CHECKING

import flask

from dashboard.i18n import translator
from dashboard.pages.report import UPLOAD_PATH
from dashboard.server.auth import require_role
from dashboard.server.limits import allow
from data_sources.comments.photo_records import official_photo_name, public_photo_name, upload_photo
from data_sources.comments.photos import PhotoLimits, PhotoRejected

if TYPE_CHECKING:
    from dash import Dash

    from dashboard.context import AppContext

PUBLIC_CACHE = "public, max-age=86400"  # a photo hidden later may stay in a browser's cache for up to a day
MEDIA_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def _json(body: dict, status: int) -> flask.Response:
    resp = flask.jsonify(body)
    resp.status_code = status
    resp.headers["Cache-Control"] = "no-store"
    return resp


def store_upload(ctx: AppContext, stream: IO[bytes]) -> str:
    """One uploaded file (the report page's ``photo``, Open311's ``media``) made safe and stored as a pending
    photo; its id, or ``PhotoRejected``. Reads at most one byte over the city's limit, so a huge upload costs no
    more than that."""
    limit = ctx.city.feedback.photo_max_mb * 1024 * 1024
    return upload_photo(ctx.engine, ctx.media, stream.read(limit + 1), PhotoLimits(max_bytes=limit))


def upload_answer(ctx: AppContext, request: flask.Request) -> tuple[dict, int]:
    """The answer to one upload: the photo's id, or a reason the citizen can act on (nothing is stored then)."""
    fb = ctx.city.feedback
    lang = request.form.get("lang")
    _ = translator(lang if lang in ctx.city.city.languages else ctx.city.city.default_language)
    if fb.max_photos == 0:
        return {"ok": False, "message": _("This city does not take photos.")}, 403
    upload = request.files.get("photo")
    if upload is None:
        return {"ok": False, "message": _("Choose a photo.")}, 400
    if not allow(ctx, fb.photo_rate, "photo"):
        return {
            "ok": False,
            "message": _("You have sent many photos in a short time. Wait a little and try again."),
        }, 429
    try:
        photo_id = store_upload(ctx, upload.stream)
    except PhotoRejected as e:
        return {"ok": False, "message": _(e.message, **e.params)}, e.status
    return {"ok": True, "photo_id": photo_id}, 200


def _serve(ctx: AppContext, name: str | None, cache: str) -> flask.Response:
    data = ctx.media.get(name) if name else None
    if data is None:
        flask.abort(404)
    resp = flask.Response(data, mimetype="image/jpeg", headers={**MEDIA_HEADERS, "Cache-Control": cache})
    resp.set_etag(name or "")  # names are never reused: a blurred photo gets a new one
    resp.make_conditional(flask.request)  # the same response, turned into a 304 when the ETag matches
    return resp


def init_app(app: Dash, ctx: AppContext) -> None:
    server = app.server
    fb = ctx.city.feedback
    # Flask reads at most this much of a request body; more is a 413 before any of it is stored. An official's
    # photo for an answer comes through a Dash callback as base64 (dashboard/pages/officials_queue.py): 4/3 of it.
    server.config["MAX_CONTENT_LENGTH"] = max(
        server.config.get("MAX_CONTENT_LENGTH") or 0, -(-fb.photo_max_mb * 1024 * 1024 * 4 // 3) + 64 * 1024
    )

    def upload() -> flask.Response:
        return _json(*upload_answer(ctx, flask.request))

    def public(name: str) -> flask.Response:
        return _serve(ctx, public_photo_name(ctx.engine, name), PUBLIC_CACHE)

    @require_role("moderator")
    def for_officials(name: str) -> flask.Response:
        return _serve(ctx, official_photo_name(ctx.engine, name), "private, no-store")

    server.add_url_rule(UPLOAD_PATH, "report_photos", upload, methods=["POST"])
    server.add_url_rule("/media/<name>", "media", public)
    server.add_url_rule("/officials/media/<name>", "officials_media", for_officials)
