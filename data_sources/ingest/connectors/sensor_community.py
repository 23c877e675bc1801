"""Sensor.Community (formerly luftdaten.info): citizen PM and weather sensors, no key.

fetch: the live API's filter endpoint (the last 5 minutes of every sensor in an area),
``https://data.sensor.community/airrohr/v1/filter/area=LAT,LON,KM`` (or ``box=LAT1,LON1,LAT2,LON2``), a JSON
list of readings. The live API has no history, so there is no incremental window: each refresh takes the latest
readings and the store ignores the ones it already has. With ``archive_sensors`` fetch reads the daily archive
CSVs of those sensors instead, for every finished day since the last fetch.

parse: that JSON list, or a daily archive CSV (``archive.sensor.community/DATE/DATE_TYPE_sensor_ID.csv``,
``;``-separated), for ``citydash import``. One feature per *location* (a station may carry a PM sensor and a
weather sensor). P1 is PM10 and P2 is PM2.5 (µg/m³); pressure comes in Pa and is stored in hPa. Indoor sensors
are skipped.

Licence: the database is ODbL 1.0 and its contents DbCL 1.0; attribute "Sensor.Community".
"""

from __future__ import annotations

import io
from typing import Any

import pandas as pd

from data_sources.ingest.connectors._common import (
    merge,
    observations,
    point_features,
    read_text_file,
    require,
    result,
    utc,
)
from data_sources.ingest.http import get_json, request
from data_sources.ingest.types import METRICS, SourceError, SourceMeta

API = "https://data.sensor.community/airrohr/v1/filter/"
ARCHIVE = "https://archive.sensor.community/"
META = SourceMeta(
    publisher="Sensor.Community",
    licence="ODbL 1.0 (database), DbCL 1.0 (contents)",
    attribution="Data: Sensor.Community (ODbL)",
    url="https://sensor.community/",
)
# upstream value_type -> (metric, factor into the store's unit)
VALUE_TYPES = {
    "P1": ("pm10", 1.0),
    "P2": ("pm25", 1.0),
    "temperature": ("temperature", 1.0),
    "humidity": ("humidity", 1.0),
    "pressure": ("pressure", 0.01),  # Pa -> hPa
}
ARCHIVE_COLUMNS = ("sensor_id", "sensor_type", "location", "lat", "lon", "timestamp")


def fetch(session: Any, params: dict, since: Any = None) -> Any:
    if params.get("archive_sensors"):
        return fetch_archive(session, params, since)
    filters = []
    for key in ("area", "box", "country", "type"):
        if params.get(key):
            value = params[key]
            filters.append(f"{key}={','.join(map(str, value)) if isinstance(value, list) else value}")
    if not any(f.startswith(("area=", "box=", "country=")) for f in filters):
        raise SourceError("sensor_community needs params.area (lat,lon,km), params.box or params.country")
    payload = get_json(session, API + "&".join(filters))
    if not isinstance(payload, list):
        raise SourceError(f"upstream schema changed: expected a JSON list of readings, got {type(payload).__name__}")
    return payload


def fetch_archive(session: Any, params: dict, since: Any = None) -> dict:
    """Daily archive CSVs of ``params.archive_sensors`` (["sds011:15092", "bme280:15093"]) for every finished
    day since the last fetch (``archive_days`` days back on the first run, default 7). The archive is built
    once a day, so this is the way to backfill history or to keep a sensor's full record."""
    today = pd.Timestamp.now(tz="UTC").normalize()
    first = (
        utc(since).normalize() if since is not None else today - pd.Timedelta(days=int(params.get("archive_days", 7)))
    )
    texts = []
    for day in pd.date_range(first, today - pd.Timedelta(days=1), freq="D"):
        for sensor in params["archive_sensors"]:
            stype, sid = str(sensor).lower().split(":")
            url = f"{ARCHIVE}{day:%Y-%m-%d}/{day:%Y-%m-%d}_{stype}_sensor_{sid}.csv"
            r = request(session, url, missing_ok=True)  # no file: the sensor sent nothing that day
            if r is not None:
                texts.append(r.text)
    return {"archives": texts}


def read_file(path: str, params: dict) -> Any:
    if str(path).lower().endswith(".json"):
        from data_sources.ingest.connectors._common import read_json_file

        return read_json_file(path)
    return read_text_file(path)


def parse(payload: Any, params: dict) -> Any:
    layer = params.get("layer", "air_station")
    if isinstance(payload, str):
        return _parse_archive(payload, layer)
    if isinstance(payload, dict) and "archives" in payload:
        return merge([_parse_archive(text, layer) for text in payload["archives"]], META)
    if not isinstance(payload, list):
        raise SourceError(f"upstream schema changed: expected a JSON list of readings, got {type(payload).__name__}")
    stations: dict[str, dict] = {}
    rows, skipped = [], 0
    for rec in payload:
        require(rec, ("timestamp", "location", "sensor", "sensordatavalues"), "a Sensor.Community reading")
        loc, sensor = rec["location"], rec["sensor"]
        require(loc, ("id", "latitude", "longitude"), "a reading's location")
        if str(loc.get("indoor", 0)) == "1":
            skipped += 1
            continue
        loc_id = str(loc["id"])
        stype = (sensor.get("sensor_type") or {}).get("name", "")
        st = stations.setdefault(
            loc_id,
            {
                "external_id": loc_id,
                "name": f"Sensor.Community location {loc_id}",
                "lat": loc["latitude"],
                "lon": loc["longitude"],
                "properties": {"country": loc.get("country"), "altitude": loc.get("altitude"), "sensors": {}},
            },
        )
        st["properties"]["sensors"][str(sensor.get("id"))] = stype
        used = 0
        for v in rec["sensordatavalues"]:
            metric, factor = VALUE_TYPES.get(v.get("value_type"), (None, 0))
            if metric is None:
                continue
            try:
                value = float(v["value"]) * factor
            except (TypeError, ValueError, KeyError):
                continue
            rows.append(
                {
                    "external_id": loc_id,
                    "time": rec["timestamp"],
                    "metric": metric,
                    "value": value,
                    "unit": METRICS[metric],
                }
            )
            used += 1
        skipped += used == 0
    # A location whose sensors measure nothing the store keeps (e.g. noise only) would be an empty marker.
    measured = {r["external_id"] for r in rows}
    features = point_features([s for k, s in stations.items() if k in measured], layer)
    return result(features, observations(rows), META, skipped)


def _parse_archive(text: str, layer: str) -> Any:
    try:
        df = pd.read_csv(io.StringIO(text), sep=";", dtype={"sensor_id": str, "location": str, "sensor_type": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise SourceError(f"malformed Sensor.Community archive CSV: {str(e).splitlines()[0]}") from None
    require({c: 1 for c in df.columns}, ARCHIVE_COLUMNS, "the archive CSV header")
    # The archive carries the same location on every row: the first row of each location describes it.
    first = df.drop_duplicates("location")
    sensors: dict[str, dict] = {}
    for loc, sid, stype in df[["location", "sensor_id", "sensor_type"]].drop_duplicates().itertuples(index=False):
        sensors.setdefault(loc, {})[str(sid)] = stype
    stations = [
        {
            "external_id": r.location,
            "name": f"Sensor.Community location {r.location}",
            "lat": r.lat,
            "lon": r.lon,
            "properties": {"sensors": sensors[r.location]},
        }
        for r in first.itertuples(index=False)
    ]
    frames = []
    for column, (metric, factor) in VALUE_TYPES.items():
        if column in df:
            frames.append(
                pd.DataFrame(
                    {
                        "external_id": df["location"],
                        "time": df["timestamp"],
                        "metric": metric,
                        "value": pd.to_numeric(df[column], errors="coerce") * factor,
                        "unit": METRICS[metric],
                    }
                )
            )
    if not frames:
        raise SourceError(
            "upstream schema changed: the archive CSV has none of the columns P1, P2, temperature, humidity, pressure"
        )
    obs = observations(pd.concat(frames, ignore_index=True))
    features = point_features(stations, layer)
    # A row none of whose measured columns holds a number is unusable.
    measured = [c for c in VALUE_TYPES if c in df]
    skipped = int(df[measured].apply(pd.to_numeric, errors="coerce").isna().all(axis=1).sum())
    return result(features, obs, META, skipped)
