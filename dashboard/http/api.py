"""The indicators API at /api/v1/ (open data out): sources with provenance, features as GeoJSON per layer,
observations as CSV or JSON, and the home page's key figures; the OpenAPI description at /api/openapi.json.

Every answer carries an ETag (a hash of its body) and a short public Cache-Control, and a matching
If-None-Match gets 304 (werkzeug's conditional responses). Large results are paged with limit/offset, a
``Link: <...>; rel="next"`` header and, in JSON, a ``next`` URL.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import flask
from dash import Dash
from sqlalchemy import Engine, Select, func, select

from dashboard.context import AppContext
from dashboard.http.responses import HttpError, conditional, json_response, query_time
from dashboard.server.cache import request_now
from dashboard.server.hosts import public_root
from data_sources.comments import workflow
from data_sources.comments.api_keys import api_key_info
from data_sources.comments.records import as_id, public_comment, public_history
from data_sources.config import CityConfig
from data_sources.ingest.types import LAYERS, METRICS
from data_sources.store.db import utc_iso
from data_sources.store import rollups
from data_sources.store.models import Feature, Observation, Source

PREFIX = "/api/v1"
API_LIMIT = "300/minute"
FEATURES_PAGE = (1000, 10_000)  # default and largest page
OBSERVATIONS_PAGE = (10_000, 50_000)


class ApiError(HttpError):
    """An error of the indicators API, answered as JSON ``{"error": reason}``."""


def parse_time(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        return query_time(value)
    except ValueError:
        raise ApiError(400, f"{name} must be an ISO 8601 time such as 2026-01-31T12:00:00Z") from None


def paging(args: Any, default: int, largest: int) -> tuple[int, int]:
    try:
        limit = int(args.get("limit", default))
        offset = int(args.get("offset", 0))
    except ValueError:
        raise ApiError(400, "limit and offset must be integers") from None
    if not (1 <= limit <= largest) or not (0 <= offset <= 2**62):
        raise ApiError(400, f"limit must be 1-{largest} and offset at least 0")
    return limit, offset


def finite(x: Any) -> Any:
    """JSON has no NaN or infinity: those become null."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [finite(v) for v in x]
    return x


# --- back-office answers ------------------------------------------------------------------------------------


def bearer_key(headers: Mapping[str, str]) -> str | None:
    """The API key from ``Authorization: Bearer <key>`` (or ``X-API-Key``)."""
    auth = headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return headers.get("X-API-Key") or None


def parse_update(body: object) -> tuple[str, str, str | None]:
    """``{"status": ..., "text": ..., "closed_reason": ...}`` from a back office; ApiError 400 with a short reason."""
    if not isinstance(body, dict):
        raise ApiError(400, 'The body must be a JSON object such as {"status": "resolved", "text": "..."}.')
    unknown = sorted(set(body) - {"status", "text", "closed_reason"})
    if unknown:
        raise ApiError(400, f"Unknown field: {unknown[0]}.")
    status, text, reason = body.get("status"), body.get("text"), body.get("closed_reason")
    if status not in workflow.COMMENT_STATUSES or status == "new":
        raise ApiError(400, "status must be one of acknowledged, in_progress, resolved, closed.")
    if not isinstance(text, str) or not text.strip():
        raise ApiError(400, "text (the public answer) is required.")
    if reason is not None and reason not in workflow.CLOSED_REASONS:
        raise ApiError(400, f"closed_reason must be one of {', '.join(workflow.CLOSED_REASONS)}.")
    if status == "closed" and reason is None:
        raise ApiError(400, "closed_reason is required when status is closed.")
    return status, text, reason


# --- reads -----------------------------------------------------------------------------------------------------


def sources(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                Source.id,
                Source.name,
                Source.kind,
                Source.title,
                Source.publisher,
                Source.licence,
                Source.attribution,
                Source.url,
                Source.last_success_at,
            ).order_by(Source.name)
        ).all()
        layers = conn.execute(
            select(Feature.source_id, Feature.layer, func.count()).group_by(Feature.source_id, Feature.layer)
        ).all()
        metrics = conn.execute(
            select(Feature.source_id, Observation.metric).join(Feature, Feature.id == Observation.feature_id).distinct()
        ).all()
    by_layer: dict[int, dict] = {}
    for sid, layer, n in layers:
        by_layer.setdefault(sid, {})[layer] = n
    by_metric: dict[int, list] = {}
    for sid, metric in metrics:
        by_metric.setdefault(sid, []).append(metric)
    return [
        {
            "name": s.name,
            "kind": s.kind,
            "title": s.title,
            "publisher": s.publisher,
            "licence": s.licence,
            "attribution": s.attribution,
            "url": s.url,
            "last_success_at": utc_iso(s.last_success_at),
            "layers": [{"layer": k, "features": v} for k, v in sorted(by_layer.get(s.id, {}).items())],
            "metrics": sorted(by_metric.get(s.id, [])),
        }
        for s in rows
    ]


def layers(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(select(Feature.layer, func.count()).group_by(Feature.layer).order_by(Feature.layer)).all()
    return [
        {"layer": layer, "title": LAYERS.get(layer, layer.replace("_", " ").capitalize()), "features": n}
        for layer, n in rows
    ]


def features_page(engine: Engine, layer: str, limit: int, offset: int) -> tuple[dict, int]:
    """One page of a layer as an RFC 7946 FeatureCollection, and the layer's total."""
    q = (
        select(
            Feature.id,
            Feature.external_id,
            Feature.name,
            Feature.geometry,
            Feature.properties,
            Feature.district_id,
            Feature.updated_at,
            Source.name.label("source"),
        )
        .join(Source, Source.id == Feature.source_id)
        .where(Feature.layer == layer)
        .order_by(Feature.id)
        .limit(limit)
        .offset(offset)
    )
    with engine.connect() as conn:
        total = conn.scalar(select(func.count()).select_from(Feature).where(Feature.layer == layer)) or 0
        rows = conn.execute(q).all()
    feats = [
        {
            "type": "Feature",
            "id": r.id,
            "geometry": json.loads(r.geometry),
            "properties": finite(
                {
                    **(r.properties or {}),
                    "name": r.name,
                    "external_id": r.external_id,
                    "source": r.source,
                    "layer": layer,
                    "district_id": r.district_id,
                    "updated_at": utc_iso(r.updated_at),
                }
            ),
        }
        for r in rows
    ]
    return {"type": "FeatureCollection", "features": feats}, total


def _filtered(
    q: Select,
    feature_id: Any,
    metric: Any,
    time: Any,
    layer: str | None,
    metrics: list[str] | None,
    since: datetime | None,
    until: datetime | None,
    feature_ids: list[int] | None,
) -> Select:
    """The API's filters on readings or rollups (whose feature, metric and time columns are given): one layer,
    some metrics, a closed time range, some features."""
    if layer:
        q = q.join(Feature, Feature.id == feature_id).where(Feature.layer == layer)
    if metrics:
        q = q.where(metric.in_(metrics))
    if since is not None:
        q = q.where(time >= since)
    if until is not None:
        q = q.where(time <= until)
    if feature_ids:
        q = q.where(feature_id.in_(feature_ids))
    return q


def observations_page(
    engine: Engine,
    metrics: list[str] | None,
    start: datetime | None,
    end: datetime | None,
    feature_ids: list[int] | None,
    layer: str | None,
    limit: int,
    offset: int,
) -> list[dict]:
    o = Observation
    q = select(o.feature_id, o.time, o.metric, o.value, o.unit)
    q = _filtered(q, o.feature_id, o.metric, o.time, layer, metrics, start, end, feature_ids)
    q = q.order_by(Observation.time, Observation.feature_id, Observation.metric).limit(limit).offset(offset)
    with engine.connect() as conn:
        rows = conn.execute(q).all()
    return [
        {
            "feature_id": r.feature_id,
            "time": utc_iso(r.time),
            "metric": r.metric,
            "value": finite(r.value),
            "unit": r.unit,
        }
        for r in rows
    ]


# What an answer's rows are, per resolution (the answer's "resolution" and "note").
RESOLUTION_NOTES = {
    "raw": "single readings",
    "hour": "hourly means per feature: value is the mean of the hour's readings, min and max their extremes, "
    "count how many there were",
    "day": "daily means per feature (UTC days): value is the mean of the day's readings, min and max their "
    "extremes, count how many there were",
    "month": "monthly means per feature (UTC months): value is the mean of the month's readings, min and max "
    "their extremes, count how many there were",
}


# Hours are grouped from the readings when asked for (no hour rollup is stored while the readings are), and every
# page groups the whole range again: a year of a 400-station city is 3.5 M readings and 11 s of the database's time
# per page. So one request covers at most a month of hours; 31 days of that city take 0.6 s.
HOURS_UP_TO = timedelta(days=31)


def parse_resolution(value: str | None, start: datetime | None, end: datetime | None) -> str:
    """The ``resolution`` asked for; "auto" (the default) picks the coarsest that still gives enough points for
    the range: single readings up to two weeks (or an open range), daily means up to a year, monthly beyond.
    "hour" needs both ends, at most HOURS_UP_TO apart."""
    value = value or "auto"
    if value == "auto":
        return rollups.pick_resolution(start, end)
    if value not in RESOLUTION_NOTES:
        raise ApiError(400, "resolution must be auto, raw, hour, day or month")
    if value == "hour" and (start is None or end is None or end - start > HOURS_UP_TO):
        raise ApiError(
            400,
            f"resolution=hour covers at most {HOURS_UP_TO.days} days: give start and end at most that far apart "
            "(ask again for each month), or use resolution=day",
        )
    return value


def rollups_page(
    engine: Engine,
    resolution: str,
    metrics: list[str] | None,
    start: datetime | None,
    end: datetime | None,
    feature_ids: list[int] | None,
    layer: str | None,
    limit: int,
    offset: int,
) -> list[dict]:
    """Rows as ``observations_page`` gives them, but each a feature's mean over an hour, day or month, with min,
    max and count; every bucket that overlaps [start, end] (a bucket that starts before ``start`` counts whole)."""
    r = rollups.bucket_rows(engine.dialect.name, resolution, metrics, start, end, feature_ids or None).c
    q = select(r.feature_id, r.bucket, r.metric, r.total / r.n, r.low, r.high, r.n)
    q = _filtered(q, r.feature_id, r.metric, r.bucket, layer, None, None, None, None)
    q = q.order_by(r.bucket, r.feature_id, r.metric).limit(limit).offset(offset)
    with engine.connect() as conn:
        rows = conn.execute(q).all()
    return [
        {
            "feature_id": fid,
            "time": utc_iso(t),
            "metric": m,
            "value": finite(v),
            "unit": METRICS.get(m, ""),
            "min": finite(lo),
            "max": finite(hi),
            "count": n,
        }
        for fid, t, m, v, lo, hi, n in rows
    ]


def kpis(engine: Engine, city: CityConfig, now: datetime | None = None) -> dict:
    """The home page's key figures; each, and each sub-figure of cycling, with ``as_of`` (the newest reading it
    uses, ISO 8601 UTC) and ``stale`` (older than its sources' freshness window)."""
    from dashboard.ui.kpis import current_kpis

    out = {}
    for key, k in current_kpis(engine, city, now).items():
        d = dataclasses.asdict(k)
        d["updated"] = utc_iso(k.updated.to_pydatetime() if hasattr(k.updated, "to_pydatetime") else k.updated)
        d["as_of"] = utc_iso(k.as_of)
        out[key] = finite(json.loads(json.dumps(d, default=float)))
    return out


# --- HTTP ------------------------------------------------------------------------------------------------------


def next_link(count: int, limit: int, offset: int, total: int | None = None) -> str | None:
    more = (offset + count < total) if total is not None else count == limit
    if not more:
        return None
    args = flask.request.args.to_dict()
    args.update(limit=str(limit), offset=str(offset + limit))
    path = flask.url_for(flask.request.endpoint, **(flask.request.view_args or {}), **args)
    return public_root() + path[len(flask.request.script_root) :]


def init_app(app: Dash, ctx: AppContext) -> None:
    from dashboard.server.limits import limiter

    bp = flask.Blueprint("api_v1", __name__)
    lim = limiter(ctx)

    @bp.errorhandler(ApiError)
    def _api_error(e: ApiError) -> Any:
        return flask.jsonify({"error": e.message}), e.status

    @bp.errorhandler(429)
    def _too_many(e: Any) -> Any:
        return flask.jsonify({"error": "Too many requests; slow down and retry later."}), 429

    @bp.get(PREFIX + "/")
    @lim.limit(API_LIMIT)
    def get_index() -> Any:
        root = public_root(ctx)
        return json_response(
            {
                "city": ctx.city.city.name,
                "links": {
                    k: root + v
                    for k, v in {
                        "sources": f"{PREFIX}/sources",
                        "layers": f"{PREFIX}/layers",
                        "observations": f"{PREFIX}/observations",
                        "kpis": f"{PREFIX}/kpis",
                        "openapi": "/api/openapi.json",
                        "open311": "/open311/v2/discovery.json",
                    }.items()
                },
            }
        )

    @bp.get(PREFIX + "/sources")
    @lim.limit(API_LIMIT)
    def get_sources() -> Any:
        return json_response({"sources": sources(ctx.engine)})

    @bp.get(PREFIX + "/layers")
    @lim.limit(API_LIMIT)
    def get_layers() -> Any:
        return json_response({"layers": layers(ctx.engine)})

    @bp.get(PREFIX + "/features/<layer>")
    @lim.limit(API_LIMIT)
    def get_features(layer: str) -> Any:
        limit, offset = paging(flask.request.args, *FEATURES_PAGE)
        fc, total = features_page(ctx.engine, layer, limit, offset)
        if total == 0:
            raise ApiError(404, f"no layer {layer!r}; see {PREFIX}/layers")
        nxt = next_link(len(fc["features"]), limit, offset, total)
        headers = {"X-Total-Count": str(total), **({"Link": f'<{nxt}>; rel="next"'} if nxt else {})}
        return json_response({**fc, "numberMatched": total, "next": nxt}, headers, mimetype="application/geo+json")

    @bp.get(PREFIX + "/observations")
    @lim.limit(API_LIMIT)
    def get_observations() -> Any:
        a = flask.request.args
        fmt = a.get("format", "json")
        if fmt not in ("json", "csv"):
            raise ApiError(400, "format must be json or csv")
        limit, offset = paging(a, *OBSERVATIONS_PAGE)
        metrics = [m for m in a.get("metric", "").split(",") if m] or None
        ids = [as_id(x) for x in a.get("feature_id", "").split(",") if x]
        if None in ids:
            raise ApiError(400, "feature_id must be positive integers (at most 2^63-1), comma delimited")
        fids = ids or None
        start, end = parse_time(a.get("start"), "start"), parse_time(a.get("end"), "end")
        res = parse_resolution(a.get("resolution"), start, end)
        layer = a.get("layer") or None
        if res == "raw":
            rows = observations_page(ctx.engine, metrics, start, end, fids, layer, limit, offset)
        else:
            rows = rollups_page(ctx.engine, res, metrics, start, end, fids, layer, limit, offset)
        nxt = next_link(len(rows), limit, offset)
        headers = {"Link": f'<{nxt}>; rel="next"', "X-Resolution": res} if nxt else {"X-Resolution": res}
        if fmt == "csv":
            buf = io.StringIO()
            cols = ["feature_id", "time", "metric", "value", "unit"] + ([] if res == "raw" else ["min", "max", "count"])
            w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
            w.writeheader()
            w.writerows(rows)
            return conditional(buf.getvalue(), "text/csv", headers)
        return json_response(
            {
                "observations": rows,
                "units": {m: METRICS.get(m) for m in sorted({r["metric"] for r in rows})},
                "resolution": res,
                "note": RESOLUTION_NOTES[res],
                "next": nxt,
            },
            headers,
        )

    # <comment_id> is any path segment, checked below: with Flask's int converter a negative or oversized id
    # matched no route and fell through to the page routes (405 with an HTML page instead of the API's 404).
    @bp.post(PREFIX + "/comments/<comment_id>/updates")
    @lim.limit(API_LIMIT)
    def post_comment_update(comment_id: str) -> flask.Response | tuple[flask.Response, int, dict]:
        info = api_key_info(ctx.engine, bearer_key(flask.request.headers))
        if info is None:
            return (
                flask.jsonify({"error": "An API key is required: Authorization: Bearer <key>."}),
                401,
                {"WWW-Authenticate": 'Bearer realm="citydash"'},
            )
        if info.department_id is None:
            raise ApiError(403, "This key is not scoped to a department, so it cannot answer comments.")
        status, text, reason = parse_update(flask.request.get_json(silent=True))
        cid = as_id(comment_id)
        if cid is None or public_comment(ctx.engine, cid) is None:
            raise ApiError(404, f"No comment {comment_id[:30]}.")
        try:
            workflow.change_status(
                ctx.engine,
                workflow.integrator_actor(info.name, info.department_id),
                [cid],
                status,
                text,
                closed_reason=reason,
            )
        except workflow.NotAllowed:
            raise ApiError(403, "This key answers only comments assigned to its department.") from None
        except workflow.WorkflowError as e:
            raise ApiError(400, str(e)) from None
        history = [
            {
                "at": utc_iso(h["created_at"]),
                "from_status": h["from_status"],
                "status": h["to_status"],
                "text": h["public_text"],
            }
            for h in public_history(ctx.engine, cid)
        ]
        return flask.jsonify({"comment_id": cid, "status": status, "history": history})

    @bp.get(PREFIX + "/kpis")
    @lim.limit(API_LIMIT)
    def get_kpis() -> Any:
        return json_response({"kpis": kpis(ctx.engine, ctx.city, request_now(ctx))})

    app.server.register_blueprint(bp)
