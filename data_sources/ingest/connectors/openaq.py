"""OpenAQ API v3: official and low-cost air-quality stations worldwide. Needs a free API key, read from the
environment (``OPENAQ_API_KEY``, or the variable named in ``params.api_key_env``) and sent as ``X-API-Key``.

fetch: ``/v3/locations`` in an area (``params.coordinates = [lat, lon]`` with ``radius`` in metres, at most
25000, or ``bbox = [west, south, east, north]``, or ``locations = [ids]``), paged; then for each sensor of a
wanted pollutant either ``/v3/locations/{id}/latest`` (``mode = "latest"``, the default: one call a location),
``/v3/locations/{id}/sensors`` (``mode = "sensors"``: the same latest values with each sensor's unit) or
``/v3/sensors/{id}/hours`` since the last successful fetch (``mode = "hours"``, default window 1 day back on the
first run; at most ``max_sensors`` sensors, default 30, to stay inside the free tier's 60 calls a minute).

parse: a bundle ``{"locations": [...responses], "latest": {location id: response}, "sensors": {location id:
response}, "hours": {sensor id: [responses]}}`` as fetch returns it, or one ``/v3/locations`` response (stations only). Gas values reported in
ppm or ppb are converted to µg/m³ at 25 °C. Hourly values are stamped with the end of their hour.

Licence: OpenAQ passes on each provider's licence (shown per location); attribute "OpenAQ" and the provider.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import requests

from data_sources.ingest.connectors._common import observations, point_features, read_json_payload, require, result
from data_sources.ingest.http import get_json
from data_sources.ingest.standards import MOLAR_MASS, ppb_to_ugm3
from data_sources.ingest.types import METRICS, ParseResult, SourceError, SourceMeta

API = "https://api.openaq.org/v3"
WANTED = ("pm25", "pm10", "no2", "o3", "so2", "co")
META = SourceMeta(
    publisher="OpenAQ",
    licence="per provider (see each location's licences); OpenAQ platform CC BY 4.0",
    attribution="Data: OpenAQ and its providers",
    url="https://openaq.org/",
)
PAGE = 1000


def _paged(session: requests.Session, url: str, headers: dict, query: dict, most_pages: int = 20) -> list:
    pages = []
    for page in range(1, most_pages + 1):
        doc = get_json(session, url, headers=headers, params={**query, "limit": PAGE, "page": page})
        require(doc, ("results",), f"an OpenAQ response from {url}")
        pages.append(doc)
        if len(doc["results"]) < PAGE:
            break
    return pages


def fetch(session: requests.Session, params: dict, since: datetime | str | None = None) -> dict:
    var = params.get("api_key_env", "OPENAQ_API_KEY")
    key = os.environ.get(var, "")
    if not key:
        raise SourceError(f"openaq needs an API key in the environment variable {var} (free at explore.openaq.org)")
    headers = {"X-API-Key": key}
    if params.get("locations"):
        locations = [get_json(session, f"{API}/locations/{int(i)}", headers=headers) for i in params["locations"]]
    else:
        if params.get("bbox"):
            area = {"bbox": ",".join(map(str, params["bbox"]))}
        elif params.get("coordinates"):
            lat, lon = params["coordinates"]
            area = {"coordinates": f"{lat},{lon}", "radius": min(int(params.get("radius", 10_000)), 25_000)}
        else:
            raise SourceError("openaq needs params.coordinates (with radius), params.bbox or params.locations")
        locations = _paged(session, f"{API}/locations", headers, area)
    bundle: dict[str, Any] = {"locations": locations, "latest": {}, "sensors": {}, "hours": {}}
    sensors = _sensor_map(locations)
    mode = params.get("mode", "latest")
    if mode in ("latest", "sensors"):
        for loc_id in {loc for loc, _, _ in sensors.values()}:
            bundle[mode][loc_id] = get_json(session, f"{API}/locations/{loc_id}/{mode}", headers=headers)
    else:
        start = (
            pd.Timestamp(since)
            if since is not None
            else pd.Timestamp.now(tz="UTC").tz_localize(None) - timedelta(days=1)
        )
        wanted = list(sensors)[: int(params.get("max_sensors", 30))]
        for sid in wanted:
            query = {"datetime_from": f"{start:%Y-%m-%dT%H:%M:%SZ}"}
            bundle["hours"][sid] = _paged(session, f"{API}/sensors/{sid}/hours", headers, query)
    return bundle


def _locations(payload: Any) -> list[dict]:
    pages = payload if isinstance(payload, list) else [payload]
    out = []
    for doc in pages:
        require(doc, ("results",), "an OpenAQ /v3/locations response")
        out += doc["results"]
    return out


def _sensor_map(location_pages: Any) -> dict[str, tuple[str, str, str]]:
    """sensor id -> (location id, metric, upstream unit), for the pollutants the store keeps."""
    out = {}
    for loc in _locations(location_pages):
        for s in loc.get("sensors") or []:
            p = s.get("parameter") if isinstance(s, dict) else None
            if isinstance(p, dict) and p.get("name") in WANTED:
                out[str(s["id"])] = (str(loc["id"]), p["name"], p.get("units", ""))
    return out


def _name(value: Any, key: str) -> Any:
    """``{"code": "US"}`` -> "US"; a plain text (older answers) as it is."""
    return value.get(key) if isinstance(value, dict) else value


def to_store_unit(metric: str, value: float, unit: str) -> float | None:
    unit = (unit or "").strip().lower()
    if unit in ("µg/m³", "ug/m3", "µg/m3", "μg/m³"):
        return value
    if metric in MOLAR_MASS and unit == "ppm":
        return ppb_to_ugm3(metric, value * 1000.0)
    if metric in MOLAR_MASS and unit == "ppb":
        return ppb_to_ugm3(metric, value)
    if unit == "mg/m³" or unit == "mg/m3":
        return value * 1000.0
    return None


def _results(payload: Any) -> list | None:
    pages = payload if isinstance(payload, list) else [payload]
    if not all(isinstance(p, dict) and isinstance(p.get("results"), list) for p in pages):
        return None
    return [r for p in pages for r in p["results"]]


def is_v2(payload: Any) -> bool:
    """An answer of the retired v2 API (``/v2/latest``, ``/v2/locations``, ``/v2/measurements``): its records
    carry ``measurements``, ``parameters`` as a list of objects with ``lastValue``, or ``parameter`` as text."""
    records = _results(payload)
    if not records:
        return False
    r = records[0]
    return isinstance(r, dict) and (
        "measurements" in r
        or isinstance(r.get("parameter"), str)
        or (
            isinstance(r.get("parameters"), list)
            and any(isinstance(p, dict) and "lastValue" in p for p in r["parameters"])
        )
    )


def _v2_field(record: Any, key: str, what: str, n: int) -> Any:
    if not isinstance(record, dict) or key not in record:
        has = ", ".join(list(record)[:10]) if isinstance(record, dict) else type(record).__name__
        raise SourceError(f"OpenAQ v2 answer: {what} {n} has no {key!r} (has {has})")
    return record[key]


def parse_v2(payload: Any, params: dict) -> ParseResult:
    """The v2 shapes: one feature per location (``id``, else ``locationId``, else its name), readings from
    ``measurements`` (latest), ``parameters`` (locations) or the record itself (measurements)."""
    rows: dict[str, dict] = {}
    obs, skipped = [], 0
    for n, r in enumerate(_results(payload) or [], 1):
        coords = _v2_field(r, "coordinates", "result", n)
        if not isinstance(coords, dict):
            coords = {}
        ext = str(r.get("id") or r.get("locationId") or _v2_field(r, "location", "result", n))
        name = str(r.get("name") or r.get("location") or f"OpenAQ location {ext}")
        country = r.get("country")
        rows.setdefault(
            ext,
            {
                "external_id": ext,
                "name": name,
                "lat": coords.get("latitude"),
                "lon": coords.get("longitude"),
                "properties": {
                    "city": r.get("city"),
                    "country": country if isinstance(country, str) else None,
                    "api": "v2",
                },
            },
        )
        if "measurements" in r:
            readings = [(m, "lastUpdated") for m in r["measurements"] or []]
        elif isinstance(r.get("parameters"), list):
            readings = [({**p, "value": p.get("lastValue")}, "lastUpdated") for p in r["parameters"]]
        else:
            readings = [(r, "date")]
        for m, time_key in readings:
            metric = _v2_field(m, "parameter", "a reading of result", n)
            when = m.get(time_key)
            when = when.get("utc") if isinstance(when, dict) else when
            value = m.get("value")
            if metric not in WANTED or value is None or when is None:
                skipped += 1
                continue
            v = to_store_unit(metric, float(value), str(m.get("unit") or ""))
            if v is None or v < 0:
                skipped += 1
                continue
            obs.append({"external_id": ext, "time": when, "metric": metric, "value": v, "unit": METRICS[metric]})
    features = point_features(list(rows.values()), params.get("layer", "air_station"))
    out = result(features, observations(obs), META, skipped + len(rows) - len(features))
    out.rows_read = len(_results(payload) or [])
    return out


def parse(payload: Any, params: dict) -> ParseResult:
    if is_v2(payload) or (isinstance(payload, dict) and is_v2(payload.get("locations"))):
        return parse_v2(
            payload.get("locations") if isinstance(payload, dict) and "locations" in payload else payload, params
        )
    bundle = payload if isinstance(payload, dict) and "locations" in payload else {"locations": payload}
    rows = [_location_row(loc) for loc in _locations(bundle["locations"])]
    features = point_features(rows, params.get("layer", "air_station"))
    sensors = _sensor_map(bundle["locations"]) | _sensor_units(bundle)
    obs, skipped = [], len(rows) - len(features)
    for sid, time, value, unit in _readings(bundle, sensors):
        o = _observation(sensors, sid, time, value, unit)
        if o is None:
            skipped += 1
        else:
            obs.append(o)
    return result(features, observations(obs), META, skipped)


def _location_row(loc: Any) -> dict[str, Any]:
    """One v3 location as a point-feature row, with its provider, owner and licences."""
    require(loc, ("id", "coordinates"), "an OpenAQ location")
    c = loc["coordinates"] if isinstance(loc["coordinates"], dict) else {}
    return {
        "external_id": str(loc["id"]),
        "name": loc.get("name") or f"OpenAQ location {loc['id']}",
        "lat": c.get("latitude"),
        "lon": c.get("longitude"),
        "properties": {
            "locality": loc.get("locality"),
            "country": _name(loc.get("country"), "code"),
            "provider": _name(loc.get("provider"), "name"),
            "owner": _name(loc.get("owner"), "name"),
            "monitor": loc.get("isMonitor"),
            "licences": [_name(lic, "name") for lic in loc.get("licenses") or []],
        },
    }


def _sensor_units(bundle: dict) -> dict[str, tuple[str, str, str]]:
    """sensor id -> (location id, metric, unit) from the ``/locations/{id}/sensors`` answers: units per sensor."""
    out = {}
    for loc_id, doc in (bundle.get("sensors") or {}).items():
        require(doc, ("results",), "an OpenAQ /sensors response")
        for sensor in doc["results"]:
            p = sensor.get("parameter") or {}
            if p.get("name") in WANTED:
                out[str(sensor["id"])] = (str(loc_id), p["name"], p.get("units", ""))
    return out


Reading = tuple[str, Any, Any, Any]  # sensor id, time, value, unit (None: the sensor's own)


def _readings(bundle: dict, sensors: dict[str, tuple[str, str, str]]) -> Iterator[Reading]:
    """Every reading in the bundle: from ``/latest``, from ``/sensors`` (their latest values) and ``/hours``
    (stamped with the end of the hour)."""
    for doc in (bundle.get("latest") or {}).values():
        require(doc, ("results",), "an OpenAQ /latest response")
        for r in doc["results"]:
            yield str(r.get("sensorsId")), (r.get("datetime") or {}).get("utc"), r.get("value"), None
    for doc in (bundle.get("sensors") or {}).values():
        for sensor in doc["results"]:
            latest = sensor.get("latest") or {}
            if str(sensor["id"]) in sensors:
                yield str(sensor["id"]), (latest.get("datetime") or {}).get("utc"), latest.get("value"), None
    for sid, pages in (bundle.get("hours") or {}).items():
        for doc in pages if isinstance(pages, list) else [pages]:
            require(doc, ("results",), "an OpenAQ /hours response")
            for r in doc["results"]:
                end = ((r.get("period") or {}).get("datetimeTo") or {}).get("utc")
                yield str(sid), end, r.get("value"), (r.get("parameter") or {}).get("units")


def _observation(
    sensors: dict[str, tuple[str, str, str]], sid: str, time: Any, value: Any, unit: str | None
) -> dict[str, Any] | None:
    """A reading as an observation row in the store's unit; None for an unknown sensor, no value, a unit that
    cannot be converted or a negative value (OpenAQ passes on providers' negative sentinels, -999)."""
    if sid not in sensors or value is None:
        return None
    loc_id, metric, sensor_unit = sensors[sid]
    v = to_store_unit(metric, float(value), unit or sensor_unit)
    if v is None or v < 0:
        return None
    return {"external_id": loc_id, "time": time, "metric": metric, "value": v, "unit": METRICS[metric]}


read_file = read_json_payload
