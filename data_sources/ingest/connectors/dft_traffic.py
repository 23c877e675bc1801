"""UK Department for Transport road traffic statistics: count points and annual average daily flows (AADF).
No key. Licence: Open Government Licence v3.0.

fetch: the road traffic API, ``https://roadtraffic.dft.gov.uk/api/average-annual-daily-flow`` filtered by
``params.local_authority_id`` (or ``region_id``), paged by ``page[number]`` until there is no next page. AADF is
published once a year, so every refresh takes the whole table and the store keeps what it already has.

parse: that JSON, or a CSV download: the current one (``count_point_id, year, latitude, longitude, ...,
all_motor_vehicles``) or the legacy export (``AADFYear, CP, Easting, Northing, ..., AllMotorVehicles``, British
National Grid, converted to EPSG:4326). One feature per count point; observations ``aadf`` (all motor
vehicles/day) and ``aadf_cycles`` (pedal cycles/day), dated 1 January of their year.
"""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
import pyproj

from data_sources.ingest.connectors._common import (
    observations,
    point_features,
    read_json_file,
    read_text_file,
    require,
    result,
)
from data_sources.ingest.http import get_json
from data_sources.ingest.types import SourceError, SourceMeta

API = "https://roadtraffic.dft.gov.uk/api/average-annual-daily-flow"
META = SourceMeta(
    publisher="UK Department for Transport",
    licence="Open Government Licence v3.0",
    attribution="Contains public sector information licensed under the Open Government Licence v3.0 (DfT road traffic statistics)",
    url="https://roadtraffic.dft.gov.uk/",
)
LEGACY = {
    "AADFYear": "year",
    "CP": "count_point_id",
    "Easting": "easting",
    "Northing": "northing",
    "Road": "road_name",
    "RoadCategory": "road_category",
    "LocalAuthority": "local_authority_name",
    "StartJunction": "start_junction_road_name",
    "EndJunction": "end_junction_road_name",
    "Estimation_method": "estimation_method",
    "LinkLength_km": "link_length_km",
    "PedalCycles": "pedal_cycles",
    "AllMotorVehicles": "all_motor_vehicles",
}
PROPERTIES = (
    "road_name",
    "road_category",
    "road_type",
    "local_authority_name",
    "start_junction_road_name",
    "end_junction_road_name",
    "link_length_km",
)
METRIC_COLUMNS = {"all_motor_vehicles": ("aadf", "vehicles/day"), "pedal_cycles": ("aadf_cycles", "cycles/day")}


def fetch(session: Any, params: dict, since: Any = None) -> dict:
    filters = {
        f"filter[{k}]": params[k] for k in ("local_authority_id", "region_id", "count_point_id") if params.get(k)
    }
    if not filters:
        raise SourceError("dft_aadf needs params.local_authority_id (or region_id)")
    pages = []
    for number in range(1, int(params.get("max_pages", 200)) + 1):
        doc = get_json(
            session, API, params={**filters, "page[size]": int(params.get("page_size", 1000)), "page[number]": number}
        )
        require(doc, ("data",), "a DfT road traffic API response")
        pages.append(doc)
        if not doc["data"] or not (doc.get("next_page_url") or (doc.get("links") or {}).get("next")):
            break
    return {"pages": pages}


def read_file(path: str, params: dict) -> Any:
    return read_json_file(path) if str(path).lower().endswith(".json") else read_text_file(path)


def _table(payload: Any) -> pd.DataFrame:
    if isinstance(payload, str):
        try:
            return pd.read_csv(io.StringIO(payload), dtype={"CP": str, "count_point_id": str})
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
            raise SourceError(f"malformed DfT CSV: {str(e).splitlines()[0]}") from None
    pages = payload["pages"] if isinstance(payload, dict) and "pages" in payload else [payload]
    records = []
    for doc in pages:
        require(doc, ("data",), "a DfT road traffic API response")
        records += doc["data"]
    return pd.DataFrame.from_records(records)


def parse(payload: Any, params: dict) -> Any:
    df = _table(payload).rename(columns=LEGACY)
    if len(df) == 0:
        return result(point_features([], "traffic_counter"), observations([]), META)
    require({c: 1 for c in df.columns}, ("count_point_id", "year", "all_motor_vehicles"), "the DfT AADF table")
    df["count_point_id"] = df["count_point_id"].astype(str)
    if "latitude" not in df or df["latitude"].isna().all():
        require({c: 1 for c in df.columns}, ("easting", "northing"), "the DfT AADF table (no latitude/longitude)")
        bng = pyproj.Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
        df["longitude"], df["latitude"] = bng.transform(
            pd.to_numeric(df["easting"]).to_numpy(), pd.to_numeric(df["northing"]).to_numpy()
        )
    latest = df.sort_values("year").drop_duplicates("count_point_id", keep="last")
    rows = []
    for r in latest.to_dict("records"):
        props = {k: r[k] for k in PROPERTIES if k in r and pd.notna(r[k])}
        road = r.get("road_name") or ""
        ends = " – ".join(
            str(r[k]) for k in ("start_junction_road_name", "end_junction_road_name") if pd.notna(r.get(k)) and r.get(k)
        )
        rows.append(
            {
                "external_id": r["count_point_id"],
                "name": f"{road} {ends}".strip() or f"Count point {r['count_point_id']}",
                "lat": r["latitude"],
                "lon": r["longitude"],
                "properties": props,
            }
        )
    features = point_features(rows, params.get("layer", "traffic_counter"))
    time = pd.to_datetime(
        pd.to_numeric(df["year"], errors="coerce").astype("Int64").astype(str) + "-01-01", utc=True, errors="coerce"
    )
    frames = [
        pd.DataFrame(
            {"external_id": df["count_point_id"], "time": time, "metric": metric, "value": df[col], "unit": unit}
        )
        for col, (metric, unit) in METRIC_COLUMNS.items()
        if col in df
    ]
    raw = pd.concat(frames, ignore_index=True)
    obs = observations(raw)
    return result(features, obs, META, len(rows) - len(features) + len(raw) - len(obs))
