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


# Times a query may ask for. Year 1 or 9999 is no period of data, and shifting them by an offset or a window
# overflows a datetime: they are refused as out of range.
FIRST_TIME, LAST_TIME = datetime(1970, 1, 1), datetime(2999, 12, 31)


def query_time(value: str) -> datetime:
    """A time from a query string as naive UTC (an unencoded "+01:00" arrives as " 01:00"), between 1970 and
    2999. ValueError if bad."""
    value = value.strip()
    try:
        dt = parse_utc(value.replace(" ", "+") if "T" in value else value)
    except OverflowError:
        raise ValueError(f"{value!r} is out of range") from None
    if not FIRST_TIME <= dt <= LAST_TIME:
        raise ValueError(f"{value!r} is out of range")
    return dt


def conditional(body: str | bytes, mimetype: str, headers: dict[str, str] | None = None) -> flask.Response:
    resp = flask.Response(body, mimetype=mimetype, headers=headers or {})
    resp.headers["Cache-Control"] = CACHE_CONTROL
    resp.add_etag()
    resp.make_conditional(flask.request)  # the same response, turned into a 304 when the ETag matches
    return resp


def json_response(
    data: Any, headers: dict[str, str] | None = None, mimetype: str = "application/json"
) -> flask.Response:
    return conditional(json.dumps(data, ensure_ascii=False, separators=(",", ":")), mimetype, headers)
