"""The OpenAPI 3 description of /api/v1/ and /open311/v2/, served at /api/openapi.json.

Kept next to the code it describes and checked against the live app by a schemathesis run in the test suite.
"""

from __future__ import annotations

import flask
from dash import Dash

from dashboard.context import AppContext
from dashboard.http import api, open311
from dashboard.server.hosts import public_root
from dashboard.http.responses import json_response
from data_sources.comments.records import PUBLIC_EVENT_KINDS
from data_sources.config import CityConfig
from data_sources.store.models import H3_RESOLUTIONS

NULL_STR = {"type": ["string", "null"]}
DATETIME = {"type": "string", "format": "date-time"}
NULL_DATETIME = {"type": ["string", "null"], "format": "date-time"}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _array(items: dict) -> dict:
    return {"type": "array", "items": items}


def _obj(props: dict, required: list[str] | None = None) -> dict:
    return {"type": "object", "properties": props, "required": list(props) if required is None else required}


def _json(schema: dict, description: str = "OK", headers: dict | None = None, mime: str = "application/json") -> dict:
    out = {"description": description, "content": {mime: {"schema": schema}}}
    if headers:
        out["headers"] = headers
    return out


def _open311(schema: dict, description: str = "OK") -> dict:
    # XML mirrors the JSON (root and item elements as in GeoReport v2); the schema describes the JSON form.
    return {
        "description": description,
        "content": {"application/json": {"schema": schema}, "text/xml": {"schema": {"type": "string"}}},
    }


def _open311_errors(*codes: int) -> dict:
    text = {
        400: "Invalid request (errors[] says which parameter)",
        403: "api_key missing or not valid",
        404: "Not found (service_code, service_request_id, jurisdiction_id or format)",
        429: "Too many requests",
    }
    return {str(c): _open311(_ref("Open311Errors"), text[c]) for c in codes}


def _api_errors(*codes: int) -> dict:
    text = {400: "Invalid parameter", 404: "Not found", 429: "Too many requests"}
    return {str(c): _json(_ref("ApiError"), text[c]) for c in codes}


CACHE_HEADERS = {
    "ETag": {"schema": {"type": "string"}, "description": "Hash of the body; send it back in If-None-Match"},
    "Cache-Control": {"schema": {"type": "string"}},
}
NOT_MODIFIED = {"description": "Not modified (If-None-Match matched the ETag)"}
IF_NONE_MATCH = {"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"}}
FORMAT = {
    "name": "format",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "enum": ["json", "xml"]},
    "description": "Response format, chosen by the path suffix",
}
JURISDICTION = {
    "name": "jurisdiction_id",
    "in": "query",
    "required": False,
    "schema": {"type": "string"},
    "description": "Accepted for compatibility; must be this city's slug when given",
}
PAGING = [
    {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1}},
    {"name": "offset", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 0}},
]


def schemas() -> dict:
    request_fields = {
        "service_request_id": {"type": "integer"},
        "status": {"type": "string", "enum": ["open", "closed"]},
        "status_notes": NULL_STR,
        "service_name": {"type": "string"},
        "service_code": {"type": "string"},
        "description": {"type": "string"},
        "agency_responsible": NULL_STR,
        "service_notice": NULL_STR,
        "requested_datetime": DATETIME,
        "updated_datetime": DATETIME,
        "expected_datetime": NULL_DATETIME,
        "address": NULL_STR,
        "address_id": NULL_STR,
        "zipcode": NULL_STR,
        "lat": {"type": "number", "description": "Centre of the H3 res-9 cell (about 170 m): never the exact spot"},
        "long": {"type": "number"},
        "media_url": NULL_STR,
    }
    note = _obj(
        {
            "datetime": DATETIME,
            "type": {"type": "string", "enum": list(PUBLIC_EVENT_KINDS)},
            "summary": {"type": "string"},
            "description": NULL_STR,
        }
    )
    return {
        "Open311Errors": _array(_obj({"code": {"type": "integer"}, "description": {"type": "string"}})),
        "Discovery": _obj(
            {
                "changeset": {"type": "string"},
                "contact": {"type": "string"},
                "key_service": {"type": "string"},
                "endpoints": _array(
                    _obj(
                        {
                            "specification": {"type": "string"},
                            "url": {"type": "string"},
                            "changeset": {"type": "string"},
                            "type": {"type": "string"},
                            "formats": _array({"type": "string"}),
                        }
                    )
                ),
            }
        ),
        "Service": _obj(
            {
                "service_code": {"type": "string"},
                "service_name": {"type": "string"},
                "description": {"type": "string"},
                "metadata": {"type": "boolean"},
                "type": {"type": "string", "enum": ["realtime", "batch", "blackbox"]},
                "keywords": {"type": "string"},
                "group": {"type": "string"},
            }
        ),
        "ServiceDefinition": _obj(
            {
                "service_code": {"type": "string"},
                "attributes": _array(
                    _obj(
                        {
                            "variable": {"type": "boolean"},
                            "code": {"type": "string"},
                            "datatype": {
                                "type": "string",
                                "enum": ["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"],
                            },
                            "required": {"type": "boolean"},
                            "datatype_description": NULL_STR,
                            "order": {"type": "integer"},
                            "description": {"type": "string"},
                            "values": _array(_obj({"key": {"type": "string"}, "name": {"type": "string"}})),
                        }
                    )
                ),
            }
        ),
        "ServiceRequest": _obj(request_fields),
        "ServiceRequestWithNotes": _obj({**request_fields, "notes": _array(note)}),
        "CreatedRequest": _obj(
            {"service_request_id": {"type": "integer"}, "service_notice": NULL_STR, "account_id": NULL_STR}
        ),
        "ApiError": _obj({"error": {"type": "string"}}),
        "Source": _obj(
            {
                "name": {"type": "string"},
                "kind": {"type": "string"},
                "title": {"type": "string"},
                "publisher": {"type": "string"},
                "licence": {"type": "string"},
                "attribution": {"type": "string"},
                "url": {"type": "string"},
                "last_success_at": NULL_DATETIME,
                "layers": _array(_obj({"layer": {"type": "string"}, "features": {"type": "integer"}})),
                "metrics": _array({"type": "string"}),
            }
        ),
        "Layer": _obj({"layer": {"type": "string"}, "title": {"type": "string"}, "features": {"type": "integer"}}),
        "FeatureCollection": _obj(
            {
                "type": {"const": "FeatureCollection"},
                "features": _array(
                    _obj(
                        {
                            "type": {"const": "Feature"},
                            "id": {"type": "integer"},
                            "geometry": _obj({"type": {"type": "string"}}, ["type"]),
                            "properties": {"type": "object"},
                        }
                    )
                ),
                "numberMatched": {"type": "integer"},
                "next": NULL_STR,
            }
        ),
        "Observation": _obj(
            {
                "feature_id": {"type": "integer"},
                "time": DATETIME,
                "metric": {"type": "string"},
                "value": {"type": ["number", "null"]},
                "unit": {"type": "string"},
                # at an hourly, daily or monthly resolution: time starts the bucket, value is its mean
                "min": {"type": ["number", "null"]},
                "max": {"type": ["number", "null"]},
                "count": {"type": "integer"},
            },
            ["feature_id", "time", "metric", "value", "unit"],
        ),
        "Kpi": _obj(
            {
                "key": {"type": "string"},
                "value": {"type": ["number", "null"]},
                "unit": {"type": "string"},
                # air: the European AQI bands; traffic and cycling: against the usual for the hour and weekday
                "band": {
                    "type": "string",
                    "enum": [
                        "good",
                        "fair",
                        "moderate",
                        "poor",
                        "very_poor",
                        "extremely_poor",
                        "busier",
                        "usual",
                        "quieter",
                        "none",
                    ],
                },
                "detail": {"type": ["object", "null"]},
                "updated": NULL_DATETIME,
                # the newest reading the figure uses, and whether it is older than its sources' freshness window
                "as_of": NULL_DATETIME,
                "stale": {"type": "boolean"},
            }
        ),
    }


def open311_paths() -> dict:
    p = open311.PREFIX
    request_filters = [
        {
            "name": "service_request_id",
            "in": "query",
            "required": False,
            "schema": {"type": "string"},
            "description": "Comma-delimited ids; overrides every other filter",
        },
        {
            "name": "service_code",
            "in": "query",
            "required": False,
            "schema": {"type": "string"},
            "description": "Comma-delimited service codes",
        },
        {"name": "start_date", "in": "query", "required": False, "schema": DATETIME},
        {
            "name": "end_date",
            "in": "query",
            "required": False,
            "schema": DATETIME,
            "description": "At most 90 days after start_date; the default window is the 90 days up to now",
        },
        {
            "name": "status",
            "in": "query",
            "required": False,
            "schema": {"type": "string"},
            "description": "open, closed, or both comma delimited",
        },
        {"name": "page", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1}},
        {
            "name": "page_size",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": open311.MAX_PAGE_SIZE},
        },
    ]
    post_fields = {
        "api_key": {"type": "string"},
        "service_code": {"type": "string"},
        "lat": {"type": "number"},
        "long": {"type": "number"},
        "description": {"type": "string"},
        "email": {"type": "string"},
        "attribute[feature_id]": {"type": "string"},
        "jurisdiction_id": {"type": "string"},
        "address_string": {"type": "string"},
        "device_id": {"type": "string"},
        "account_id": {"type": "string"},
        "first_name": {"type": "string"},
        "last_name": {"type": "string"},
        "phone": {"type": "string"},
        "media_url": {"type": "string"},
    }
    return {
        f"{p}/discovery.{{format}}": {
            "get": {
                "tags": ["Open311"],
                "summary": "Service discovery",
                "parameters": [FORMAT],
                "responses": {"200": _open311(_ref("Discovery")), **_open311_errors(404, 429)},
            }
        },
        f"{p}/services.{{format}}": {
            "get": {
                "tags": ["Open311"],
                "summary": "Services: the city's comment categories",
                "parameters": [FORMAT, JURISDICTION],
                "responses": {"200": _open311(_array(_ref("Service"))), **_open311_errors(404, 429)},
            }
        },
        f"{p}/services/{{service_code}}.{{format}}": {
            "get": {
                "tags": ["Open311"],
                "summary": "Service definition (attributes: extra questions)",
                "parameters": [
                    {"name": "service_code", "in": "path", "required": True, "schema": {"type": "string"}},
                    FORMAT,
                    JURISDICTION,
                ],
                "responses": {"200": _open311(_ref("ServiceDefinition")), **_open311_errors(404, 429)},
            }
        },
        f"{p}/requests.{{format}}": {
            "get": {
                "tags": ["Open311"],
                "summary": "Published service requests, newest first",
                "parameters": [FORMAT, JURISDICTION, *request_filters],
                "responses": {"200": _open311(_array(_ref("ServiceRequest"))), **_open311_errors(400, 404, 429)},
            },
            "post": {
                "tags": ["Open311"],
                "summary": "Create a service request (needs an api_key)",
                "parameters": [FORMAT],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {
                                "type": "object",
                                "properties": post_fields,
                                "required": ["api_key", "service_code", "lat", "long", "description"],
                            }
                        }
                    },
                },
                "responses": {
                    "201": _open311(_array(_ref("CreatedRequest")), "Created"),
                    **_open311_errors(400, 403, 404, 429),
                },
            },
        },
        f"{p}/requests/{{service_request_id}}.{{format}}": {
            "get": {
                "tags": ["Open311"],
                "summary": "One service request with its public history (notes extension)",
                "parameters": [
                    {"name": "service_request_id", "in": "path", "required": True, "schema": {"type": "string"}},
                    FORMAT,
                    JURISDICTION,
                ],
                "responses": {
                    "200": _open311(_array(_ref("ServiceRequestWithNotes"))),
                    **_open311_errors(400, 404, 429),
                },
            }
        },
    }


def api_paths(has_heatmap: bool) -> dict:
    p = api.PREFIX

    def cached(schema: dict, mime: str = "application/json", extra_headers: dict | None = None) -> dict:
        return {
            "200": _json(schema, headers={**CACHE_HEADERS, **(extra_headers or {})}, mime=mime),
            "304": NOT_MODIFIED,
        }

    link = {"Link": {"schema": {"type": "string"}, "description": 'rel="next" URL when there is a next page'}}
    paths = {
        f"{p}/": {
            "get": {
                "tags": ["Indicators"],
                "summary": "Links to the resources",
                "parameters": [IF_NONE_MATCH],
                "responses": {**cached({"type": "object"}), **_api_errors(429)},
            }
        },
        f"{p}/sources": {
            "get": {
                "tags": ["Indicators"],
                "summary": "Sources with provenance (publisher, licence, attribution, URL)",
                "parameters": [IF_NONE_MATCH],
                "responses": {**cached(_obj({"sources": _array(_ref("Source"))})), **_api_errors(429)},
            }
        },
        f"{p}/layers": {
            "get": {
                "tags": ["Indicators"],
                "summary": "Feature layers and their sizes",
                "parameters": [IF_NONE_MATCH],
                "responses": {**cached(_obj({"layers": _array(_ref("Layer"))})), **_api_errors(429)},
            }
        },
        f"{p}/features/{{layer}}": {
            "get": {
                "tags": ["Indicators"],
                "summary": "A layer's features as GeoJSON (RFC 7946), paged",
                "parameters": [
                    {"name": "layer", "in": "path", "required": True, "schema": {"type": "string"}},
                    *PAGING,
                    IF_NONE_MATCH,
                ],
                "responses": {
                    **cached(
                        _ref("FeatureCollection"),
                        "application/geo+json",
                        {**link, "X-Total-Count": {"schema": {"type": "string"}}},
                    ),
                    **_api_errors(400, 404, 429),
                },
            }
        },
        f"{p}/observations": {
            "get": {
                "tags": ["Indicators"],
                "summary": "Observations as JSON or CSV, filtered by metric, time, feature, layer",
                "parameters": [
                    {
                        "name": "metric",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string"},
                        "description": "Comma-delimited metric names, e.g. pm25,no2",
                    },
                    {"name": "start", "in": "query", "required": False, "schema": DATETIME},
                    {"name": "end", "in": "query", "required": False, "schema": DATETIME},
                    {
                        "name": "feature_id",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string"},
                        "description": "Comma-delimited feature ids",
                    },
                    {"name": "layer", "in": "query", "required": False, "schema": {"type": "string"}},
                    {
                        "name": "format",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": ["json", "csv"]},
                    },
                    {
                        "name": "resolution",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": ["auto", "raw", "hour", "day", "month"]},
                        "description": "raw: single readings; hour, day, month: each feature's mean, min, max and "
                        "count per UTC bucket. auto (default): raw up to 14 days or without start and end, day up "
                        "to 366 days, month beyond. The answer says which (resolution, note; X-Resolution header). hour needs "
                        "start and end at most 31 days apart.",
                    },
                    *PAGING,
                    IF_NONE_MATCH,
                ],
                "responses": {
                    "200": {
                        "description": "OK",
                        "headers": {
                            **CACHE_HEADERS,
                            **link,
                            "X-Resolution": {
                                "schema": {"type": "string", "enum": ["raw", "hour", "day", "month"]},
                                "description": "what the rows are: single readings or means per UTC bucket",
                            },
                        },
                        "content": {
                            "application/json": {
                                "schema": _obj(
                                    {
                                        "observations": _array(_ref("Observation")),
                                        "units": {"type": "object"},
                                        "resolution": {"type": "string", "enum": ["raw", "hour", "day", "month"]},
                                        "note": {"type": "string"},
                                        "next": NULL_STR,
                                    }
                                )
                            },
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    },
                    "304": NOT_MODIFIED,
                    **_api_errors(400, 429),
                },
            }
        },
        f"{p}/kpis": {
            "get": {
                "tags": ["Indicators"],
                "summary": "The key figures of the home page",
                "parameters": [IF_NONE_MATCH],
                "responses": {
                    **cached(_obj({"kpis": {"type": "object", "additionalProperties": _ref("Kpi")}})),
                    **_api_errors(429),
                },
            }
        },
    }
    update_body = {
        "type": "object",
        "additionalProperties": False,
        "required": ["status", "text"],
        "properties": {
            "status": {"type": "string", "enum": ["acknowledged", "in_progress", "resolved", "closed"]},
            "text": {
                "type": "string",
                "minLength": 1,
                "maxLength": 2000,
                "description": "The city's public answer: the citizen and everyone see it",
            },
            "closed_reason": {
                "type": "string",
                "enum": ["duplicate", "not_city", "no_action", "spam", "other"],
                "description": "Required when status is closed",
            },
        },
    }
    history = _obj({"at": DATETIME, "from_status": NULL_STR, "status": {"type": "string"}, "text": NULL_STR})
    paths[f"{p}/comments/{{comment_id}}/updates"] = {
        "post": {
            "tags": ["Back office"],
            "summary": "Answer a comment and change its status (back-office systems)",
            "description": "For a department's back-office system. The key (`citydash create-api-key NAME --department D`) "
            "answers only comments assigned to its department. The update goes through the same workflow "
            "as the officials' queue: an audit log entry naming the integrator, a public history entry "
            "(shown on the comment's page and in Open311 status_notes).",
            "security": [{"apiKey": []}],
            "parameters": [{"name": "comment_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": update_body}}},
            "responses": {
                "200": _json(
                    _obj({"comment_id": {"type": "integer"}, "status": {"type": "string"}, "history": _array(history)}),
                    "Updated; the answer is public",
                ),
                "400": _json(_ref("ApiError"), "Invalid body (the error says why)"),
                "401": _json(_ref("ApiError"), "No API key, or not a valid one"),
                "403": _json(_ref("ApiError"), "The key is not scoped to a department, or not to this comment's"),
                "404": _json(_ref("ApiError"), "No such comment"),
                "429": _json(_ref("ApiError"), "Too many requests"),
            },
        }
    }
    if has_heatmap:
        # Served by the feedback blueprint (dashboard/http/feeds.py); described here so the API has one description.
        cell = _obj(
            {
                "h3": {"type": "string"},
                "lat": {"type": "number"},
                "lon": {"type": "number"},
                "count": {"type": "integer", "minimum": 1},
            }
        )
        paths[f"{p}/comments/heatmap"] = {
            "get": {
                "tags": ["Comments"],
                "summary": "Published comments counted per H3 cell; cells under min_count are left out",
                "parameters": [
                    {
                        "name": "res",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "enum": list(H3_RESOLUTIONS)},
                        "description": "H3 resolution (default 8)",
                    },
                    {"name": "category", "in": "query", "required": False, "schema": {"type": "string"}},
                    {
                        "name": "since",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string"},
                        "description": "ISO date (a time of day is dropped): only comments written on or after that UTC day",
                    },
                ],
                "responses": {
                    "200": _json(
                        _obj(
                            {
                                "resolution": {"type": "integer"},
                                "category": NULL_STR,
                                "since": NULL_STR,
                                "min_count": {"type": "integer"},
                                "cells": _array(cell),
                            }
                        )
                    ),
                    "400": _json(_ref("ApiError"), "Invalid parameter"),
                    "429": {"description": "Too many requests"},
                },
            }
        }
    return paths


def openapi(city: CityConfig, base_url: str) -> dict:
    rules = {r.rule for r in flask.current_app.url_map.iter_rules()} if flask.has_app_context() else set()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{city.city.name}: citydash open data",
            "version": "1.0.0",
            "description": "Indicators (sources, features, observations, key figures) and citizens' comments as "
            "Open311 GeoReport v2 service requests. Public locations are coarsened to H3 res-9 cells.",
            "license": {
                "name": "Data: see each source's licence; API software AGPL-3.0-or-later",
                "identifier": "AGPL-3.0-or-later",
            },
        },
        "servers": [{"url": base_url.rstrip("/") or "/"}],
        "tags": [{"name": "Indicators"}, {"name": "Open311"}, {"name": "Comments"}, {"name": "Back office"}],
        "paths": {**api_paths(f"{api.PREFIX}/comments/heatmap" in rules), **open311_paths()},
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An integrator's API key scoped to a department: Authorization: Bearer <key>",
                }
            },
        },
    }


def init_app(app: Dash, ctx: AppContext) -> None:
    bp = flask.Blueprint("openapi", __name__)

    @bp.get("/api/openapi.json")
    def get_openapi() -> flask.Response:
        return json_response(openapi(ctx.city, public_root(ctx) + "/"))

    app.server.register_blueprint(bp)
