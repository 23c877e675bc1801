"""What every HTTP endpoint shares: the error that carries a status, conditional (ETag) answers, query times.

A leaf module: the API, Open311 and OpenAPI modules import it; it imports none of them.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import flask

from data_sources.store.db import parse_utc

CACHE_CONTROL = "public, max-age=60"


class HttpError(Exception):
    """A client error with its HTTP status and a short reason; each endpoint family answers it in its format."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def query_time(value: str) -> datetime:
    """A time from a query string as naive UTC (an unencoded "+01:00" arrives as " 01:00"). ValueError if bad."""
    value = value.strip()
    return parse_utc(value.replace(" ", "+") if "T" in value else value)


def conditional(body: str | bytes, mimetype: str, headers: dict[str, str] | None = None) -> flask.Response:
    resp = flask.Response(body, mimetype=mimetype, headers=headers or {})
    resp.headers["Cache-Control"] = CACHE_CONTROL
    resp.add_etag()
    resp.make_conditional(flask.request)  # the same response, turned into a 304 when the ETag matches
    return resp


def json_response(data: Any, headers: dict[str, str] | None = None, mimetype: str = "application/json") -> flask.Response:
    return conditional(json.dumps(data, ensure_ascii=False, separators=(",", ":")), mimetype, headers)
