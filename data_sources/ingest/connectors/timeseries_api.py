"""52°North Timeseries REST API (the "SOS REST" API of several European air-quality and water networks: RIVM in
the Netherlands, DEFRA UK-AIR, PEGELONLINE in Germany), kind ``52north``. No key.

fetch: ``GET {url}/timeseries?expanded=true`` (each timeseries with its station, unit, phenomenon and last
value; ``params.query`` adds filters such as ``{ station = "2783" }`` or ``{ phenomenon = "8" }``), then for the
timeseries of wanted phenomena ``POST {url}/timeseries/getData`` with ``{"timeseries": [ids], "timespan":
"<since>/<now>"}`` (default the last day; at most ``max_timeseries``, default 50).

parse: the bundle ``{"timeseries": [...], "data": {id: {"values": [{"timestamp": ms, "value": x}]}}}`` as fetch
returns it, or one response as ``citydash import 52north`` reads it: a ``stations`` list (features only), a
``stations/{id}`` Feature, a ``timeseries`` list or one ``timeseries/{id}``, or a ``getData`` answer. Stations
become features (coordinates ``[lon, lat, altitude]``; a non-numeric altitude such as ``"NaN"`` is ignored);
each timeseries' ``lastValue`` and data values (epoch milliseconds, UTC) become observations of the metric its
phenomenon maps to: EIONET pollutant codes and English labels are built in (NO2, PM10, PM2.5, O3, SO2, CO),
``params.phenomena = { "Wasserstand" = "water_level" }`` maps others (by id or label). Phenomena no table maps
are listed as unmapped (``citydash check``). Units ``ug.m-3`` and ``mg.m-3`` are converted to µg/m³.

Licence: per network (DEFRA: Open Government Licence; RIVM: CC0); state it in ``params.licence``.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from typing import Any

import pandas as pd

from data_sources.ingest.connectors._common import observations, point_features, read_json_payload, require, result, utc
from data_sources.ingest.http import get_json
from data_sources.ingest.types import METRICS, SourceError, SourceMeta

# EIONET air-quality pollutant vocabulary (http://dd.eionet.europa.eu/vocabulary/aq/pollutant/N) and the English
# labels the 52°North SOS uses, as metric names of the store.
EIONET = {"1": "so2", "5": "pm10", "6001": "pm25", "7": "o3", "8": "no2", "10": "co"}
LABELS = {
    "nitrogen dioxide": "no2",
    "ozone": "o3",
    "sulphur dioxide": "so2",
    "sulfur dioxide": "so2",
    "carbon monoxide": "co",
    "particulate matter < 10 µm": "pm10",
    "particulate matter < 2.5 µm": "pm25",
    "pm10": "pm10",
    "pm2.5": "pm25",
    "no2": "no2",
    "o3": "o3",
    "so2": "so2",
    "co": "co",
}
UNITS = {"ug.m-3": 1.0, "µg.m-3": 1.0, "ug/m3": 1.0, "µg/m³": 1.0, "mg.m-3": 1000.0, "mg/m3": 1000.0, "mg/m³": 1000.0}


def fetch(session: Any, params: dict, since: Any = None) -> dict:
    if not params.get("url"):
        raise SourceError("52north needs params.url, the API root (e.g. https://uk-air.defra.gov.uk/sos-ukair/api/v1)")
    root = params["url"].rstrip("/")
    listing = get_json(session, f"{root}/timeseries", params={"expanded": "true", **(params.get("query") or {})})
    if not isinstance(listing, list):
        raise SourceError(f"upstream schema changed: {root}/timeseries is not a list (got {type(listing).__name__})")
    wanted = [str(ts.get("id")) for ts in listing if isinstance(ts, dict) and metric_of(ts, params)][
        : int(params.get("max_timeseries", 50))
    ]
    end = pd.Timestamp.now(tz="UTC").floor("s")
    start = utc(since) if since is not None else end - timedelta(days=1)
    data: dict = {}
    if wanted:
        span = f"{start:%Y-%m-%dT%H:%M:%SZ}/{end:%Y-%m-%dT%H:%M:%SZ}"
        data = get_json(
            session, f"{root}/timeseries/getData", method="POST", json_body={"timeseries": wanted, "timespan": span}
        )
    return {"timeseries": listing, "data": data}


read_file = read_json_payload


def metric_of(ts: dict, params: dict) -> str | None:
    """The store metric of a timeseries' phenomenon, or None when no table maps it."""
    phen = (ts.get("parameters") or {}).get("phenomenon") or {}
    return phenomenon_metric(str(phen.get("id", "")), str(phen.get("label", "")), params)


def phenomenon_metric(pid: str, label: str, params: dict) -> str | None:
    own = params.get("phenomena") or {}
    if pid in own or label in own:
        return own.get(pid) or own.get(label)
    code = re.search(r"/pollutant/(\d+)$", label)
    if code:
        return EIONET.get(code.group(1))
    text = label.lower().split(" (")[0].strip()
    return LABELS.get(text)


def _station(feature: Any) -> dict | None:
    if not isinstance(feature, dict):
        return None
    props = feature.get("properties") or {}
    coords = (feature.get("geometry") or {}).get("coordinates") or []
    if props.get("id") is None or len(coords) < 2:
        return None
    return {
        "external_id": str(props["id"]),
        "name": str(props.get("label") or props["id"]),
        "lat": _number(coords[1]),
        "lon": _number(coords[0]),
        "properties": {},
    }


def _number(v: Any) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _shape(payload: Any) -> dict:
    """Any accepted payload as {"stations": [...], "timeseries": [...], "data": {...}}."""
    if isinstance(payload, dict) and ("timeseries" in payload and isinstance(payload.get("timeseries"), list)):
        return {"stations": [], "timeseries": payload["timeseries"], "data": payload.get("data") or {}}
    if isinstance(payload, dict) and payload.get("type") == "Feature":  # stations/{id}
        return {"stations": [payload], "timeseries": [], "data": {}}
    if isinstance(payload, dict) and "station" in payload:  # timeseries/{id}
        return {"stations": [], "timeseries": [payload], "data": {}}
    if isinstance(payload, dict) and all(isinstance(v, dict) and "values" in v for v in payload.values()) and payload:
        return {"stations": [], "timeseries": [], "data": payload}  # a getData answer alone
    if isinstance(payload, list):
        if all(isinstance(x, dict) and "station" in x for x in payload):
            return {"stations": [], "timeseries": payload, "data": {}}
        if all(isinstance(x, dict) and x.get("type") == "Feature" for x in payload):
            return {"stations": payload, "timeseries": [], "data": {}}
    raise SourceError("not a 52°North Timeseries API answer: expected stations, timeseries or getData")


def _to_store(value: Any, uom: str, metric: str) -> float | None:
    v = _number(value)
    if v is None or v != v:
        return None
    if metric in METRICS and METRICS[metric] == "µg/m³":
        factor = UNITS.get((uom or "").strip())
        return None if factor is None else v * factor
    return v


def parse(payload: Any, params: dict) -> Any:
    doc = _shape(payload)
    rows: dict[str, dict] = {}
    unmapped: Counter = Counter()
    for feature in doc["stations"]:
        st = _station(feature)
        if st is None:
            raise SourceError("upstream schema changed: a station has no properties.id or no coordinates")
        rows.setdefault(st["external_id"], st)
        for ts_id, ts in ((feature.get("properties") or {}).get("timeseries") or {}).items():
            phen = (ts or {}).get("phenomenon") or {}
            metric = phenomenon_metric(str(phen.get("id", "")), str(phen.get("label", "")), params)
            st["properties"].setdefault("timeseries", {})[str(ts_id)] = metric or phen.get("label")
            if metric is None:
                unmapped[str(phen.get("label") or phen.get("id"))] += 1
    obs: list[dict | None] = []  # None: a reading skipped (counted in skipped), dropped below
    skipped: Counter = Counter()
    series: dict[str, tuple[str, str, str]] = {}  # timeseries id -> (station id, metric, uom)
    for ts in doc["timeseries"]:
        require(ts, ("id", "station"), "a 52°North timeseries")
        st = _station(ts["station"])
        if st is None:
            raise SourceError(f"upstream schema changed: timeseries {ts['id']} has a station without id or coordinates")
        st = rows.setdefault(st["external_id"], st)
        metric = metric_of(ts, params)
        phen = (ts.get("parameters") or {}).get("phenomenon") or {}
        st["properties"].setdefault("timeseries", {})[str(ts["id"])] = metric or phen.get("label")
        if metric is None:
            unmapped[str(phen.get("label") or phen.get("id") or ts.get("label"))] += 1
            continue
        uom = str(ts.get("uom") or "")
        series[str(ts["id"])] = (st["external_id"], metric, uom)
        for key in ("firstValue", "lastValue"):
            if isinstance(ts.get(key), dict):
                obs.append(_reading(st["external_id"], metric, uom, ts[key], skipped))
    for ts_id, answer in (doc["data"] or {}).items():
        if str(ts_id) not in series:
            skipped["timeseries"] += len((answer or {}).get("values") or [])
            continue
        sid, metric, uom = series[str(ts_id)]
        values = (answer or {}).get("values")
        if not isinstance(values, list):
            raise SourceError(f"upstream schema changed: getData for timeseries {ts_id} has no values list")
        for v in values:
            obs.append(_reading(sid, metric, uom, v, skipped))
    features = point_features(list(rows.values()), params.get("layer", "air_station"))
    skipped["location"] += len(rows) - len(features)
    meta = SourceMeta(
        publisher=params.get("publisher", ""),
        licence=params.get("licence", ""),
        attribution=params.get("attribution", params.get("publisher", "")),
        url=params.get("url", ""),
    )
    out = result(features, observations([o for o in obs if o is not None]), meta, sum(skipped.values()))
    out.skipped_by_reason = {k: v for k, v in skipped.items() if v}
    out.rows_read = len(rows) + len(doc["timeseries"])
    out.unmapped = {"phenomenon": dict(unmapped)} if unmapped else {}
    return out


def _reading(sid: str, metric: str, uom: str, v: Any, skipped: Counter) -> dict | None:
    if not isinstance(v, dict) or not isinstance(v.get("timestamp"), (int, float)):
        skipped["time"] += 1
        return None
    value = _to_store(v.get("value"), uom, metric)
    if value is None:
        skipped["value" if _number(v.get("value")) is None else "unit"] += 1
        return None
    unit = METRICS.get(metric, uom)
    return {
        "external_id": sid,
        "time": pd.Timestamp(int(v["timestamp"]), unit="ms", tz="UTC"),
        "metric": metric,
        "value": value,
        "unit": unit,
    }
