"""Open311 GeoReport v2 at /open311/v2/: the city's comments as service requests, in JSON and XML.

Comment categories are the services; a published comment is a service request whose public location is the
centre of its H3 res-9 cell (never the exact point). ``POST requests`` goes through ``submit_comment`` like the
feedback panel (validation, PII redaction, moderation hold, idempotency), with an API key per integrator.

The format is the path suffix (``requests.json`` / ``requests.xml``). XML is written with ElementTree, so
citizens' text is always escaped. Errors are ``errors[]`` of ``{code, description}`` with HTTP 400/403/404.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import flask
from dash import Dash
from sqlalchemy import DateTime, Engine, literal, select, tuple_
from sqlalchemy.engine import Connection

from dashboard.context import AppContext
from dashboard.http.media import store_upload
from dashboard.http.responses import HttpError, query_time
from dashboard.server.hosts import public_root
from data_sources.comments.api_keys import api_key_name
from data_sources.comments.photo_records import photos_of
from data_sources.comments.photos import PhotoRejected
from data_sources.comments.records import PUBLIC_EVENT_KINDS, CommentInput, CommentRejected, as_id, submit_comment
from data_sources.store.paging import BadCursor, decode_cursor, encode_cursor
from data_sources.config import CityConfig
from data_sources.store.db import utcnow
from data_sources.store.models import OPEN_STATUSES, Comment, CommentEvent, Department, Feature

PREFIX = "/open311/v2"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-21T00:00:00Z"  # when this server's GeoReport interface last changed
FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
MAX_WINDOW = timedelta(days=90)
MAX_PAGE_SIZE = 1000
MAX_PAGE = 1_000_000  # a billion requests at the largest page size; beyond, the offset would overflow the store
# Integrators post on behalf of many citizens, so their limit is per key and higher than one citizen's; a
# per-address limit stops anyone guessing keys.
POST_LIMIT_PER_KEY = "60/minute;2000/day"
POST_LIMIT_PER_ADDRESS = "120/minute"
GET_LIMIT = "300/minute"
# Categories whose comments are often about a data feature: their service definition asks which one.
CATEGORY_LAYERS = {
    "air": ["air_station"],
    "traffic": ["traffic_counter", "traffic_segment"],
    "cycling": ["cycle_route", "cycle_counter", "bike_station"],
}


class Open311Error(HttpError):
    """An error of the Open311 endpoints, answered as GeoReport's list of ``{code, description}`` (JSON or XML)."""

    @property
    def description(self) -> str:
        return self.message


# --- mapping -------------------------------------------------------------------------------------------------


def open311_status(status: str) -> str:
    return "open" if status in OPEN_STATUSES else "closed"


def w3c(dt: datetime | None, tz: str) -> str | None:
    """A stored (naive UTC) time as W3C/ISO 8601 with the city's offset."""
    if dt is None:
        return None
    return dt.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(tz)).isoformat(timespec="seconds")


def parse_w3c(value: str, name: str) -> datetime:
    """A W3C datetime (offset or Z; a bare date or naive time is taken as UTC) as naive UTC."""
    try:
        return query_time(value)
    except ValueError:
        raise Open311Error(400, f"{name} must be a W3C datetime such as 2026-01-31T12:00:00Z") from None


def category_label(category: str, city: CityConfig) -> str:
    # The label citizens see in the feedback panel, in the city's default language.
    from dashboard.i18n import translator
    from dashboard.ui.comments import category_label as label

    return label(category, translator(city.city.default_language))


def services(city: CityConfig) -> list[dict]:
    out = []
    for cat in city.city.comment_categories:
        label = category_label(cat, city)
        out.append(
            {
                "service_code": cat,
                "service_name": label,
                "description": f"{label}: comments and reports to {city.city.name}",
                "metadata": cat in CATEGORY_LAYERS,
                "type": "realtime",
                "keywords": cat.replace("_", " "),
                "group": "data" if cat in CATEGORY_LAYERS else "place",
            }
        )
    return out


def service_definition(engine: Engine, city: CityConfig, code: str) -> dict:
    if code not in city.city.comment_categories:
        raise Open311Error(404, f"service_code {code!r} not found")
    attributes = []
    layers = CATEGORY_LAYERS.get(code)
    if layers:
        with engine.connect() as conn:
            rows = conn.execute(
                select(Feature.id, Feature.name, Feature.layer)
                .where(Feature.layer.in_(layers))
                .order_by(Feature.layer, Feature.name, Feature.id)
            ).all()
        attributes.append(
            {
                "variable": True,
                "code": "feature_id",
                "datatype": "singlevaluelist",
                "required": False,
                "datatype_description": "The id of a map feature (see /api/v1/features); leave empty for a place.",
                "order": 1,
                "description": "Which station, counter or route is this about?",
                "values": [{"key": str(r.id), "name": r.name or f"{r.layer} {r.id}"} for r in rows],
            }
        )
    return {"service_code": code, "attributes": attributes}


@dataclass
class RequestQuery:
    ids: list[int] | None = None
    service_codes: list[str] | None = None
    start: datetime | None = None
    end: datetime | None = None
    statuses: list[str] | None = None
    page: int = 1
    page_size: int = MAX_PAGE_SIZE
    # Keyset paging, an extension the specification leaves room for: the next page's URL is in the response's
    # ``Link: <...>; rel="next"`` header (RFC 8288), its ``cursor`` parameter opaque. ``page`` still works.
    after: tuple | None = None


def _int(value: str, name: str, lo: int, hi: int | None = None) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise Open311Error(400, f"{name} must be an integer") from None
    if n < lo or (hi is not None and n > hi):
        raise Open311Error(400, f"{name} must be between {lo} and {hi}" if hi else f"{name} must be at least {lo}")
    return n


def _csv(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def parse_request_query(args: Any, now: datetime) -> RequestQuery:
    """The specification's filters. service_request_id overrides the others; the window is at most 90 days and
    defaults to the 90 days up to ``end_date`` (or now)."""
    q = RequestQuery(
        page=_int(args.get("page", "1"), "page", 1, MAX_PAGE),
        page_size=_int(args.get("page_size", str(MAX_PAGE_SIZE)), "page_size", 1, MAX_PAGE_SIZE),
    )
    if args.get("cursor") is not None:
        if q.page != 1:
            raise Open311Error(400, "give either page or cursor, not both")
        try:
            q.after = decode_cursor(args.get("cursor"), REQUEST_CURSOR)
        except BadCursor as e:
            raise Open311Error(400, f"bad cursor: {e}") from None
    ids = _csv(args.get("service_request_id"))
    if ids is not None:
        q.ids = [_int(i, "service_request_id", 1, 2**63 - 1) for i in ids]
        return q
    q.service_codes = _csv(args.get("service_code"))
    statuses = _csv(args.get("status"))
    if statuses is not None:
        bad = [s for s in statuses if s not in ("open", "closed")]
        if bad:
            raise Open311Error(400, "status must be open, closed or both (comma delimited)")
        q.statuses = statuses
    start = parse_w3c(args["start_date"], "start_date") if args.get("start_date") else None
    end = parse_w3c(args["end_date"], "end_date") if args.get("end_date") else None
    if start is not None and end is not None and end - start > MAX_WINDOW:
        raise Open311Error(400, "start_date and end_date may be at most 90 days apart")
    if end is None:
        end = min(now, start + MAX_WINDOW) if start is not None else now
    if start is None:
        start = end - MAX_WINDOW
    if end < start:
        raise Open311Error(400, "end_date is before start_date")
    q.start, q.end = start, end
    return q


def _public_notes(conn: Connection, ids: list[int]) -> dict[int, list]:
    notes: dict[int, list] = {i: [] for i in ids}
    for i in range(0, len(ids), 500):
        rows = conn.execute(
            select(
                CommentEvent.comment_id,
                CommentEvent.created_at,
                CommentEvent.kind,
                CommentEvent.to_status,
                CommentEvent.public_text,
            )
            .where(CommentEvent.comment_id.in_(ids[i : i + 500]), CommentEvent.kind.in_(PUBLIC_EVENT_KINDS))
            .order_by(CommentEvent.created_at, CommentEvent.id)
        ).all()
        for r in rows:
            notes[r.comment_id].append(r)
    return notes


REQUEST_CURSOR = ("datetime", "int")  # (created_at, id) of the last request of a page


def next_cursor(q: RequestQuery, page: list[dict]) -> str | None:
    """The cursor of the page after ``page`` (None when it was not full: nothing more, or ids were asked for)."""
    if q.ids is not None or len(page) < q.page_size or not page:
        return None
    return encode_cursor([page[-1]["_created_at"], page[-1]["service_request_id"]])


def find_requests(
    engine: Engine, city: CityConfig, q: RequestQuery, with_notes: bool = False, base_url: str = ""
) -> list[dict]:
    """Published comments as GeoReport service requests, newest first. ``media_url`` is the first public photo,
    at ``base_url``. Each item carries ``_created_at`` (for the next cursor; dropped before it is sent)."""
    cond = [Comment.moderation == "published"]
    if q.ids is not None:
        cond.append(Comment.id.in_(q.ids))
    else:
        cond += [Comment.created_at >= q.start, Comment.created_at <= q.end]
        if q.service_codes is not None:
            cond.append(Comment.category.in_(q.service_codes))
        if q.statuses is not None and set(q.statuses) != {"open", "closed"}:
            cond.append(
                Comment.status.in_(OPEN_STATUSES) if q.statuses == ["open"] else Comment.status.not_in(OPEN_STATUSES)
            )
    if q.after is not None:
        cond.append(tuple_(Comment.created_at, Comment.id) < tuple_(literal(q.after[0], DateTime()), q.after[1]))
    stmt = (
        select(
            Comment.id,
            Comment.status,
            Comment.category,
            Comment.text,
            Comment.created_at,
            Comment.updated_at,
            Comment.public_lat,
            Comment.public_lon,
            Department.name.label("agency"),
        )
        .outerjoin(Department, Department.id == Comment.department_id)
        .where(*cond)
        .order_by(Comment.created_at.desc(), Comment.id.desc())
        .limit(q.page_size)
        .offset(0 if q.after is not None else (q.page - 1) * q.page_size)
    )
    tz = city.city.timezone
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
        notes = _public_notes(conn, [r.id for r in rows])
    photos = photos_of(engine, [r.id for r in rows])
    out = []
    for r in rows:
        history = notes[r.id]
        texts = [n.public_text for n in history if n.public_text]
        item = {
            "service_request_id": r.id,
            "status": open311_status(r.status),
            "status_notes": texts[-1] if texts else None,
            "service_name": category_label(r.category, city),
            "service_code": r.category,
            "description": r.text,
            "agency_responsible": r.agency,
            "service_notice": None,
            "requested_datetime": w3c(r.created_at, tz),
            "updated_datetime": w3c(r.updated_at, tz),
            "expected_datetime": None,
            "address": None,
            "address_id": None,
            "zipcode": None,
            "lat": r.public_lat,
            "long": r.public_lon,
            "media_url": f"{base_url.rstrip('/')}/media/{photos[r.id][0]['id']}.jpg" if photos.get(r.id) else None,
            "_created_at": r.created_at,
        }
        if with_notes:
            item["notes"] = [
                {
                    "datetime": w3c(n.created_at, tz),
                    "type": n.kind,
                    "summary": f"Status: {n.to_status}"
                    if n.kind == "status" and n.to_status
                    else "Answer from the city",
                    "description": n.public_text,
                }
                for n in history
            ]
        out.append(item)
    return out


def without_cursor(item: dict) -> dict:
    return {k: v for k, v in item.items() if k != "_created_at"}


def create_request(
    engine: Engine, city: CityConfig, form: Any, integrator: str, language: str | None, photo_ids: tuple[str, ...] = ()
) -> dict:
    """POST requests: one citizen's report from an integrator, through submit_comment. ``photo_ids``: the
    request's ``media`` upload, already made safe and stored as a pending photo."""
    code = (form.get("service_code") or "").strip()
    if not code:
        raise Open311Error(400, "service_code is required")
    if code not in city.city.comment_categories:
        raise Open311Error(400, f"service_code {code!r} not found")
    if not form.get("lat") or not form.get("long"):
        raise Open311Error(400, "lat and long are required (this server does not geocode address_string)")
    feature = (form.get("attribute[feature_id]") or "").strip()
    if feature and as_id(feature) is None:  # "²".isdigit() is True: ids are ASCII digits, within a BIGINT
        raise Open311Error(400, "attribute[feature_id] must be one of the values in the service definition")
    inp = CommentInput(
        lat=form.get("lat"),
        lon=form.get("long"),
        category=code,
        text=form.get("description") or "",
        email=form.get("email") or None,
        feature_id=as_id(feature) if feature else None,
        language=language,
        origin=f"open311:{integrator}"[:100],
        photo_ids=photo_ids,
    )
    try:
        res = submit_comment(engine, city, inp)
    except CommentRejected as e:
        raise Open311Error(400, f"{e.field}: {e}") from None
    notice = (
        None
        if res.moderation == "published"
        else "Thank you. This request will be public after a moderator reviews it."
    )
    return {"service_request_id": res.id, "service_notice": notice, "account_id": None}


# --- output ----------------------------------------------------------------------------------------------------


def _xml_value(el: ET.Element, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        el.text = "true" if value else "false"
    elif isinstance(value, list):
        child_tag = {
            "attributes": "attribute",
            "values": "value",
            "notes": "note",
            "endpoints": "endpoint",
            "formats": "format",
        }[el.tag]
        for item in value:
            _xml_value(ET.SubElement(el, child_tag), item)
    elif isinstance(value, dict):
        for k, v in value.items():
            _xml_value(ET.SubElement(el, k), v)
    else:
        el.text = str(value)


def to_xml(root: str, item: str | None, data: Any) -> bytes:
    """``<root><item>..</item>..</root>`` for lists, ``<root>..</root>`` for one object; escaped by ElementTree."""
    el = ET.Element(root)
    if item is None:
        _xml_value(el, data)
    else:
        for obj in data:
            _xml_value(ET.SubElement(el, item), obj)
    return XML_DECLARATION + ET.tostring(el, encoding="unicode").encode("utf-8")


def respond(fmt: str, data: Any, root: str, item: str | None, status: int = 200) -> flask.Response:
    if fmt == "xml":
        body = to_xml(root, item, data)
    else:
        body = json.dumps(data, ensure_ascii=False).encode()
    return flask.Response(body, status=status, content_type=FORMATS.get(fmt, FORMATS["xml"]))


def error_response(fmt: str, status: int, description: str) -> flask.Response:
    # XML is the specification's required format: an unknown suffix gets XML.
    return respond(
        fmt if fmt in FORMATS else "xml", [{"code": status, "description": description}], "errors", "error", status
    )


# --- Flask ---------------------------------------------------------------------------------------------------


def discovery(base_url: str, city: CityConfig) -> dict:
    return {
        "changeset": CHANGESET,
        "contact": f"{city.city.name} open data team",
        "key_service": "Ask the city's data team for an API key (they run `citydash create-api-key NAME`).",
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": base_url.rstrip("/") + PREFIX,
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }


def init_app(app: Dash, ctx: AppContext) -> None:
    from dashboard.server.limits import limiter

    bp = flask.Blueprint("open311", __name__, url_prefix=PREFIX)
    lim = limiter(ctx)

    def fmt_of() -> str:
        return (flask.request.view_args or {}).get("fmt", "xml")

    def check(fmt: str) -> None:
        if fmt not in FORMATS:
            raise Open311Error(404, "unknown format: use .json or .xml")
        jurisdiction = flask.request.values.get("jurisdiction_id")
        if jurisdiction not in (None, "", ctx.city.city.slug):
            raise Open311Error(
                404, f"jurisdiction_id {jurisdiction!r} not found; this server serves {ctx.city.city.slug!r}"
            )

    @bp.errorhandler(Open311Error)
    def _open311_error(e: Open311Error) -> Any:
        return error_response(fmt_of(), e.status, e.description)

    @bp.errorhandler(429)
    def _too_many(e: Any) -> Any:
        resp = error_response(fmt_of(), 429, "Too many requests; slow down and retry later.")
        return resp

    def _api_key_bucket() -> str:
        return "open311-key:" + str(flask.request.values.get("api_key", ""))[:200]

    @bp.get("/discovery.<fmt>")
    @lim.limit(GET_LIMIT)
    def get_discovery(fmt: str) -> Any:
        check(fmt)
        return respond(fmt, discovery(public_root(ctx), ctx.city), "discovery", None)

    @bp.get("/services.<fmt>")
    @lim.limit(GET_LIMIT)
    def get_services(fmt: str) -> Any:
        check(fmt)
        return respond(fmt, services(ctx.city), "services", "service")

    @bp.get("/services/<code>.<fmt>")
    @lim.limit(GET_LIMIT)
    def get_service_definition(code: str, fmt: str) -> Any:
        check(fmt)
        return respond(fmt, service_definition(ctx.engine, ctx.city, code), "service_definition", None)

    @bp.get("/requests.<fmt>")
    @lim.limit(GET_LIMIT)
    def get_requests(fmt: str) -> Any:
        check(fmt)
        q = parse_request_query(flask.request.args, utcnow())
        found = find_requests(ctx.engine, ctx.city, q, base_url=public_root(ctx))
        cursor = next_cursor(q, found)
        resp = respond(fmt, [without_cursor(r) for r in found], "service_requests", "request")
        if cursor is not None:
            args = {k: v for k, v in flask.request.args.items() if k not in ("cursor", "page")}
            query = urlencode({**args, "cursor": cursor})
            resp.headers["Link"] = f'<{public_root(ctx).rstrip("/")}{flask.request.path}?{query}>; rel="next"'
        return resp

    @bp.post("/requests.<fmt>")
    @lim.limit(POST_LIMIT_PER_ADDRESS, scope="open311-post-address")
    @lim.limit(POST_LIMIT_PER_KEY, key_func=_api_key_bucket, scope="open311-post-key")
    def post_request(fmt: str) -> Any:
        check(fmt)
        form = flask.request.form
        integrator = api_key_name(ctx.engine, form.get("api_key") or flask.request.args.get("api_key"))
        if integrator is None:
            raise Open311Error(403, "api_key missing or not valid")
        photo_ids: tuple[str, ...] = ()
        media = flask.request.files.get("media")
        if media is not None:  # a photo sent with the request: the same pipeline as the report page's uploads
            try:
                photo_ids = (store_upload(ctx, media.stream),)
            except PhotoRejected as e:
                raise Open311Error(400, f"media: {e}") from None
        created = create_request(ctx.engine, ctx.city, form, integrator, ctx.language(), photo_ids)
        return respond(fmt, [created], "service_requests", "request", status=201)

    @bp.get("/requests/<request_id>.<fmt>")
    @lim.limit(GET_LIMIT)
    def get_request(request_id: str, fmt: str) -> Any:
        check(fmt)
        rid = _int(request_id, "service_request_id", 1, 2**63 - 1)
        found = find_requests(
            ctx.engine, ctx.city, RequestQuery(ids=[rid], page_size=1), with_notes=True, base_url=public_root(ctx)
        )
        if not found:
            raise Open311Error(404, f"service_request_id {rid} not found")
        return respond(fmt, [without_cursor(r) for r in found], "service_requests", "request")

    app.server.register_blueprint(bp)
