"""OGC SensorThings API v1.0/v1.1 (FROST-Server and others), no key for public servers.

fetch: ``BASE/Datastreams`` with its Thing (and the Thing's Locations), ObservedProperty and newest Observations
expanded, following ``@iot.nextLink`` over the datastreams. params: ``base_url`` (ending in /v1.1 or /v1.0),
optional ``filter`` (an OData $filter on Datastreams), ``observations_per_stream`` (default 100: the newest
ones, since the last successful fetch), ``max_pages`` (default 50), ``metrics`` (ObservedProperty name ->
metric; default the common pollutants).

parse: one feature per Thing (or, when the Thing is not expanded, per observed location, so that a station's
PM10 and NO2 datastreams meet), observations stamped with the *end* of their phenomenonTime interval. The
rows go through the same mapping core as the other portal adapters, as a long table.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from data_sources.ingest.connectors._common import read_json_payload, require
from data_sources.ingest.connectors._portal import iter_pages, meta_from, records_to_result, to_geometry
from data_sources.ingest.http import get_json
from data_sources.ingest.types import SourceError

DEFAULT_METRICS = {
    "PM10": "pm10",
    "PM2.5": "pm25",
    "PM25": "pm25",
    "NO2": "no2",
    "O3": "o3",
    "SO2": "so2",
    "CO": "co",
    "Temperature": "temperature",
    "Relative humidity": "humidity",
}
UNITS = {"ug.m-3": "µg/m³", "µg/m3": "µg/m³", "ug/m3": "µg/m³", "μg/m³": "µg/m³", "degC": "°C", "Cel": "°C"}


def fetch(session: Any, params: dict, since: Any = None) -> dict:
    if not params.get("base_url"):
        raise SourceError("sensorthings needs params.base_url (ending in /v1.1 or /v1.0)")
    top = int(params.get("observations_per_stream", 100))
    obs_opts = f"$orderby=phenomenonTime desc;$top={top}"
    if since is not None:
        obs_opts += f";$filter=phenomenonTime ge {pd.Timestamp(since):%Y-%m-%dT%H:%M:%SZ}"
    query = {"$expand": f"Thing($expand=Locations),ObservedProperty,Observations({obs_opts})", "$top": 100}
    if params.get("filter"):
        query["$filter"] = params["filter"]
    pages, url, q = [], params["base_url"].rstrip("/") + "/Datastreams", query
    for _ in range(int(params.get("max_pages", 50))):
        doc = get_json(session, url, params=q)
        require(doc, ("value",), "a SensorThings Datastreams response")
        pages.append(doc)
        url, q = doc.get("@iot.nextLink"), None  # the next link carries its own query
        if not url:
            break
    return {"pages": pages}


def _place(ds: dict) -> tuple[str | None, str, Any]:
    thing = ds.get("Thing") or {}
    geom = None
    for loc in thing.get("Locations") or []:
        geom = to_geometry(loc.get("location"))
        if geom is not None:
            break
    if geom is None:
        geom = to_geometry(ds.get("observedArea"))
    if "@iot.id" in thing:
        return str(thing["@iot.id"]), thing.get("name", ""), geom
    if geom is None:
        return None, "", None
    c = geom.representative_point()
    return f"{c.y:.5f},{c.x:.5f}", ds.get("description") or ds.get("name", ""), geom


def long_table(payload: Any) -> pd.DataFrame:
    rows = []
    for page in iter_pages(payload):
        require(page, ("value",), "a SensorThings Datastreams response")
        for ds in page["value"]:
            require(ds, ("ObservedProperty", "Observations"), "a Datastream (expand ObservedProperty and Observations)")
            ext, name, geom = _place(ds)
            prop = ds["ObservedProperty"].get("name", "")
            unit = (ds.get("unitOfMeasurement") or {}).get("symbol", "")
            for ob in ds["Observations"]:
                t = str(ob.get("phenomenonTime", "")).split("/")[-1]
                rows.append(
                    {
                        "id": ext,
                        "name": name,
                        "geometry": geom,
                        "time": t,
                        "property": prop,
                        "result": ob.get("result"),
                        "unit": UNITS.get(unit, unit),
                        "datastream": ds.get("@iot.id"),
                    }
                )
    return pd.DataFrame(rows)


read_file = read_json_payload


def parse(payload: Any, params: dict) -> Any:
    mapping = {
        "id_field": "id",
        "name_field": "name",
        "geometry_field": "geometry",
        "time_field": "time",
        "metric_field": "property",
        "value_field": "result",
        "unit_field": "unit",
        "metrics": params.get("metrics", DEFAULT_METRICS),
        "properties": [],
        "layer": params.get("layer", "air_station"),
    }
    return records_to_result(long_table(payload), mapping, meta_from(params, licence="see the server's licence"))
