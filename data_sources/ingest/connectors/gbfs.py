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

from pathlib import Path
from typing import Any

import pandas as pd

from data_sources.ingest.connectors._common import observations, point_features, read_json_file, require, result
from data_sources.ingest.http import get_json, local_path
from data_sources.ingest.types import SourceError, SourceMeta


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
    """params.url: the operator's gbfs.json over HTTP, or a saved copy (a path, a ``file://`` URL, or a folder
    holding gbfs.json or station_information.json). Feeds a saved gbfs.json names by HTTP URL are read from the
    files of the same name beside it (``station_information.json``...)."""
    url = params.get("url") or params.get("path")
    if not url:
        raise SourceError("gbfs needs params.url, the operator's gbfs.json (or a saved copy: a path or folder)")
    local = local_path(url)
    if local is not None and local.is_dir():
        if (local / "gbfs.json").exists():
            local = local / "gbfs.json"
        elif (local / "station_information.json").exists():
            return _beside(local / "station_information.json")
        else:
            raise SourceError(f"{url}: the folder has neither gbfs.json nor station_information.json")
        url = str(local)
    discovery = get_json(session, str(url))
    if isinstance(discovery, dict) and "stations" in (discovery.get("data") or {}):
        raise SourceError(f"{url}: this is a station feed, not gbfs.json; give the gbfs.json or the folder")
    urls = feed_urls(discovery, params.get("language"))
    missing = [f for f in ("station_information", "station_status") if f not in urls]
    if missing == ["station_status"] and local is not None:
        missing = []  # a saved feed without status: stations only
    if missing:
        raise SourceError(f"gbfs.json lists no {' or '.join(missing)} feed (has {', '.join(urls)})")
    out = {"gbfs": discovery}
    for feed in ("station_information", "station_status"):
        if feed not in urls:
            continue
        target = urls[feed]
        if local is not None and local_path(target) is None:  # a saved gbfs.json still names the operator's URLs
            saved = local.with_name(f"{feed}.json")
            if not saved.exists():
                if feed == "station_status":
                    continue
                raise SourceError(f"{url}: names {target}, and no saved {saved.name} sits beside it")
            target = str(saved)
        out[feed] = get_json(session, target)
    return out


def _beside(info: Path) -> dict:
    payload = {"station_information": read_json_file(info)}
    status = info.with_name("station_status.json")
    if status.exists() and status != info:
        payload["station_status"] = read_json_file(status)
    return payload


def read_file(path: str, params: dict) -> Any:
    """``citydash import gbfs``: a saved gbfs.json (its feeds read from the files beside it), a folder, or a
    station_information.json (with station_status.json when it sits beside it)."""
    p = Path(path)
    if p.is_dir() or p.name == "gbfs.json":
        return fetch(None, {**params, "url": str(p)})
    if _is_discovery(read_json_file(p)):  # a gbfs.json saved under another name
        return fetch(None, {**params, "url": str(p)})
    return _beside(p)


def _is_discovery(doc: Any) -> bool:
    data = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(data, dict):
        return False
    return isinstance(data.get("feeds"), list) or any(isinstance(v, dict) and "feeds" in v for v in data.values())


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
        rows.append(
            {
                "external_id": s["station_id"],
                "name": _text(s.get("name"), lang),
                "lat": s["lat"],
                "lon": s["lon"],
                "properties": keep,
            }
        )
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
                raise SourceError(
                    "upstream schema changed: station_status has neither num_bikes_available nor num_vehicles_available"
                )
            t = _time(s.get("last_reported", last_updated))
            obs.append(
                {
                    "external_id": s["station_id"],
                    "time": t,
                    "metric": "bikes_available",
                    "value": bikes,
                    "unit": "bikes",
                }
            )
            if s.get("num_docks_available") is not None:
                obs.append(
                    {
                        "external_id": s["station_id"],
                        "time": t,
                        "metric": "docks_available",
                        "value": s["num_docks_available"],
                        "unit": "docks",
                    }
                )
    meta = SourceMeta(
        publisher=params.get("publisher", ""),
        licence=params.get("licence", "see the operator's data licence"),
        attribution=params.get("attribution", ""),
        url=params.get("url", ""),
    )
    out = result(features, observations(obs), meta, skipped)
    out.rows_read = len(info)
    if skipped:
        out.skipped_by_reason = {"location": skipped}
    return out


def _time(value: Any) -> pd.Timestamp | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return pd.Timestamp(int(value), unit="s", tz="UTC")
    return pd.Timestamp(value).tz_convert("UTC") if pd.Timestamp(value).tzinfo else pd.Timestamp(value, tz="UTC")
