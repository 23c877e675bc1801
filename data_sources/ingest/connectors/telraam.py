"""Telraam: citizen traffic counters in windows, hourly counts of cars, heavy vehicles, bikes and pedestrians
per road segment. Needs a free API key, read from ``TELRAAM_API_KEY`` (or the variable named in
``params.api_key_env``) and sent as ``X-Api-Key``.

fetch: for each of ``params.segments`` (segment ids), the segment's geometry (``GET /v1/segments/id/ID``) and
its hourly traffic report (``POST /v1/reports/traffic``, ``level = "segments"``, ``format = "per-hour"``) since
the last successful fetch (``days_back`` days on the first run, default 7), in windows of at most 90 days, the
API's limit.

parse: one feature per segment (layer ``traffic_segment``), observations ``vehicles`` (car + heavy, vehicles/h),
``cyclists`` (bike, cyclists/h) and ``pedestrians`` (pedestrians/h) at the start of each UTC hour. Hours whose
``uptime`` is under ``min_uptime`` (default 0.5) are skipped: Telraam scales counts up from the minutes the
camera could see, and below half an hour the scaled figures are unreliable.

Licence: Telraam publishes its counts under CC BY-NC 4.0; attribute "Telraam".
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pandas as pd
from shapely.geometry import shape

from data_sources.ingest.connectors._common import (
    geometry_features,
    observations,
    read_json_payload,
    require,
    result,
    utc,
)
from data_sources.ingest.http import get_json
from data_sources.ingest.types import SourceError, SourceMeta, empty_observations

API = "https://telraam-api.net/v1"
META = SourceMeta(
    publisher="Telraam",
    licence="CC BY-NC 4.0",
    attribution="Traffic counts: Telraam (CC BY-NC 4.0)",
    url="https://telraam.net/",
)
WINDOW = timedelta(days=90)
# metric -> (report fields summed, unit)
METRIC_FIELDS = {
    "vehicles": (("car", "heavy"), "vehicles/h"),
    "cyclists": (("bike",), "cyclists/h"),
    "pedestrians": (("pedestrian",), "pedestrians/h"),
}


def fetch(session: Any, params: dict, since: Any = None) -> dict:
    var = params.get("api_key_env", "TELRAAM_API_KEY")
    key = os.environ.get(var, "")
    if not key:
        raise SourceError(f"telraam needs an API key in the environment variable {var} (free at telraam.net)")
    if not params.get("segments"):
        raise SourceError("telraam needs params.segments, a list of segment ids")
    headers = {"X-Api-Key": key}
    end = pd.Timestamp.now(tz="UTC").floor("h")
    start = utc(since) if since is not None else end - timedelta(days=int(params.get("days_back", 7)))
    bundle: dict[str, Any] = {"segments": {}, "reports": {}}
    for seg in map(str, params["segments"]):
        bundle["segments"][seg] = get_json(session, f"{API}/segments/id/{seg}", headers=headers)
        bundle["reports"][seg] = []
        t = start
        while t < end:
            body = {
                "level": "segments",
                "format": "per-hour",
                "id": seg,
                "time_start": f"{t:%Y-%m-%d %H:%M:%S}Z",
                "time_end": f"{min(t + WINDOW, end):%Y-%m-%d %H:%M:%S}Z",
            }
            bundle["reports"][seg].append(
                get_json(session, f"{API}/reports/traffic", method="POST", json_body=body, headers=headers)
            )
            t += WINDOW
    return bundle


read_file = read_json_payload


def parse(payload: Any, params: dict) -> Any:
    require(payload, ("reports",), "the Telraam payload")
    rows = []
    for seg, doc in (payload.get("segments") or {}).items():
        require(doc, ("features",), "a Telraam segment answer")
        geoms = [shape(f["geometry"]) for f in doc["features"] if f.get("geometry")]
        if geoms:
            rows.append(
                {
                    "external_id": str(seg),
                    "name": f"Telraam segment {seg}",
                    "geometry": geoms[0],
                    "properties": {"segment_id": str(seg)},
                }
            )
    features = geometry_features(rows, params.get("layer", "traffic_segment"))

    records = []
    for seg, docs in payload["reports"].items():
        for doc in docs if isinstance(docs, list) else [docs]:
            require(doc, ("report",), "a Telraam traffic report")
            records += [{**r, "_segment": str(r.get("segment_id", seg))} for r in doc["report"]]
    if not records:
        return result(features, empty_observations(), META)
    df = pd.DataFrame(records)
    require(
        {c: 1 for c in df.columns}, ("date", "uptime", "car", "heavy", "bike", "pedestrian"), "a Telraam report row"
    )
    good = pd.to_numeric(df["uptime"], errors="coerce") >= float(params.get("min_uptime", 0.5))
    df = df[good]
    frames = [
        pd.DataFrame(
            {
                "external_id": df["_segment"],
                "time": df["date"],
                "metric": metric,
                "value": sum(pd.to_numeric(df[f], errors="coerce") for f in fields),
                "unit": unit,
            }
        )
        for metric, (fields, unit) in METRIC_FIELDS.items()
    ]
    return result(features, observations(pd.concat(frames, ignore_index=True)), META, int((~good).sum()))
