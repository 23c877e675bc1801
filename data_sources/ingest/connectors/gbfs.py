"""GBFS bike share (General Bikeshare Feed Specification) v2.x and v3, no key for most operators.

fetch: reads the auto-discovery file ``gbfs.json`` at ``params.url``, finds ``station_information`` and
``station_status`` (v2.x lists feeds per language under ``data.<lang>.feeds``; v3 lists them once under
``data.feeds``) and returns the three documents. A GBFS feed is a snapshot, so there is no incremental window.

parse: one feature per station; observations ``bikes_available`` and ``docks_available`` at the station's
``last_reported`` time (POSIX seconds in v2, RFC 3339 in v3, where the bikes count is named
``num_vehicles_available``). v3 names are lists of ``{text, language}``.

Licence: set by each operator (e.g. Divvy's Data License Agreement); say it in ``params.licence``.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from data_sources.ingest.types import SourceError, SourceMeta
from data_sources.ingest.connectors._common import observations, point_features, read_json_file, require, result
from data_sources.ingest.http import get_json


def feed_urls(discovery: dict, language: str | None = None) -> dict[str, str]:
    require(discovery, ("data",), "gbfs.json")
    data = discovery["data"]
    if isinstance(data.get("feeds"), list):  # v3
        feeds = data["feeds"]
    else:  # v2.x: one feed list per language
        if not data:
            raise SourceError("gbfs.json lists no languages")
        lang = language if language in data else next(iter(data))
        require(data[lang], ("feeds",), f"gbfs.json data.{lang}")
        feeds = data[lang]["feeds"]
    return {f["name"]: f["url"] for f in feeds if "name" in f and "url" in f}


def fetch(session: Any, params: dict, since: Any = None) -> dict:
    if not params.get("url"):
        raise SourceError("gbfs needs params.url, the operator's gbfs.json")
    discovery = get_json(session, params["url"])
    urls = feed_urls(discovery, params.get("language"))
    missing = [f for f in ("station_information", "station_status") if f not in urls]
    if missing:
        raise SourceError(f"gbfs.json lists no {' or '.join(missing)} feed (has {', '.join(urls)})")
    return {
        "gbfs": discovery,
        "station_information": get_json(session, urls["station_information"]),
        "station_status": get_json(session, urls["station_status"]),
    }


def read_file(path: str, params: dict) -> Any:
    """A station_information.json; its station_status.json is read too when it sits beside it."""
    from pathlib import Path

    p = Path(path)
    payload = {"station_information": read_json_file(p)}
    status = p.with_name("station_status.json")
    if status.exists() and status != p:
        payload["station_status"] = read_json_file(status)
    return payload


def _text(value: Any, language: str | None) -> str:
    if isinstance(value, list):  # v3 localised string
        for v in value:
            if language and v.get("language") == language:
                return v.get("text", "")
        return value[0].get("text", "") if value else ""
    return "" if value is None else str(value)


def _stations(doc: Any, what: str) -> list[dict]:
    require(doc, ("data",), what)
    require(doc["data"], ("stations",), f"{what} data")
    return doc["data"]["stations"]


def parse(payload: Any, params: dict) -> Any:
    require(payload, ("station_information",), "the GBFS payload")
    lang = params.get("language")
    info = _stations(payload["station_information"], "station_information")
    rows = []
    for s in info:
        require(s, ("station_id", "lat", "lon"), "a station_information station")
        keep = {k: s[k] for k in ("short_name", "capacity", "address", "region_id") if k in s}
        rows.append({"external_id": s["station_id"], "name": _text(s.get("name"), lang), "lat": s["lat"], "lon": s["lon"], "properties": keep})
    features = point_features(rows, params.get("layer", "bike_station"))
    skipped = len(rows) - len(features)

    obs = []
    if "station_status" in payload:
        status = _stations(payload["station_status"], "station_status")
        last_updated = payload["station_status"].get("last_updated")
        for s in status:
            require(s, ("station_id",), "a station_status station")
            if not s.get("is_installed", True):
                continue
            bikes = s.get("num_bikes_available", s.get("num_vehicles_available"))
            if bikes is None:
                raise SourceError("upstream schema changed: station_status has neither num_bikes_available nor num_vehicles_available")
            t = _time(s.get("last_reported", last_updated))
            obs.append({"external_id": s["station_id"], "time": t, "metric": "bikes_available", "value": bikes, "unit": "bikes"})
            if s.get("num_docks_available") is not None:
                obs.append({"external_id": s["station_id"], "time": t, "metric": "docks_available", "value": s["num_docks_available"], "unit": "docks"})
    meta = SourceMeta(
        publisher=params.get("publisher", ""),
        licence=params.get("licence", "see the operator's data licence"),
        attribution=params.get("attribution", ""),
        url=params.get("url", ""),
    )
    return result(features, observations(obs), meta, skipped)


def _time(value: Any) -> pd.Timestamp | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return pd.Timestamp(int(value), unit="s", tz="UTC")
    return pd.Timestamp(value).tz_convert("UTC") if pd.Timestamp(value).tzinfo else pd.Timestamp(value, tz="UTC")
