"""The mapping core every portal adapter shares (CKAN, Opendatasoft, Socrata, ArcGIS, SensorThings, CSV).

Each adapter only knows how to page through its portal and how to get a table of records out of one response;
this module turns that table into features and observations by the field mapping a city writes in its TOML:

    [sources.params]
    id_field = "station_id"          # stable id of the thing measured or shown (default: its coordinates)
    name_field = "name"
    lat_field = "lat"                # or geometry_field = "geo_point_2d" (GeoJSON, WKT, {lat, lon}, "lat,lon")
    lon_field = "lon"                # or location = [lat, lon] for a table about one place
    time_field = "date"              # optional: without it the table gives features only (e.g. Wi-Fi points)
    timezone = "Europe/Amsterdam"    # for times written without an offset; default UTC
    values = { cyclists = "counts" } # metric -> field (wide tables)
    units = { cyclists = "cyclists/h" }
    # long tables instead: metric_field = "parameter", value_field = "value", unit_field = "unit",
    #                      metrics = { "PM2.5" = "pm25" }  (upstream name -> metric)
    hourly = "sum"                   # optional: fold finer counts (15 min) into hours, "sum" or "mean"
    properties = ["address"]         # fields kept on the feature (default: every scalar field not mapped)

A configured field that is missing from the records is an upstream schema change and fails loudly.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import shape

from data_sources.ingest.connectors import _tables as tables
from data_sources.ingest.connectors._common import dig, geometry_features, observations, point_features, result, utc
from data_sources.ingest.types import METRICS, ParseResult, SourceError, SourceMeta, empty_observations

MAPPING_KEYS = (
    "id_field",
    "name_field",
    "lat_field",
    "lon_field",
    "geometry_field",
    "time_field",
    "timezone",
    "values",
    "units",
    "location",
    "metric_field",
    "value_field",
    "unit_field",
    "metrics",
    "hourly",
    "properties",
    "locations",
    "locations_field",
    "keep_rows",
    "wide",
    "times",
    "date_format",
    "dayfirst",
    "date_locale",
    "missing",
    "sentinels",
    "decimal",
    "scale",
)


def meta_from(params: dict, publisher: str = "", licence: str = "", url: str = "") -> SourceMeta:
    """Portal tables carry no licence of their own: the city states it in the TOML."""
    return SourceMeta(
        publisher=params.get("publisher", publisher),
        licence=params.get("licence", licence),
        attribution=params.get("attribution", params.get("publisher", publisher)),
        url=params.get("url", params.get("base_url", url)),
    )


def parse_pages(payload: Any, params: dict, records_of: Callable[[Any], list]) -> ParseResult:
    """parse() of a paged adapter: the records of every page, through the mapping."""
    records = [r for page in iter_pages(payload) for r in records_of(page)]
    return records_to_result(records, params, meta_from(params, licence="see the portal's dataset licence"))


def iter_pages(payload: Any) -> list:
    """fetch returns {"pages": [...]}; ``citydash import`` hands over one raw response."""
    if isinstance(payload, dict) and isinstance(payload.get("pages"), list):
        return payload["pages"]
    return [payload]


def paginate(
    get_page: Callable[[int], tuple[list, Any]],
    page_size: int,
    max_records: int,
    params: dict | None = None,
    since: Any = None,
) -> dict:
    """Offset paging: ask for pages until one comes back short, ``max_records`` is reached, or (when the adapter
    asked for newest first) a page reaches back before ``since``. Returns {"pages": [raw responses]}."""
    pages, offset = [], 0
    while offset < max_records:
        records, raw = get_page(offset)
        pages.append(raw)
        offset += len(records)
        if len(records) < page_size or _reaches_before(records, params or {}, since):
            break
    return {"pages": pages}


def _reaches_before(records: list, params: dict, since: Any) -> bool:
    if since is None or not isinstance(params.get("time_field"), str) or not records:
        return False
    try:  # the table's own date options apply; a page whose times cannot be read does not stop the paging
        t = tables.parse_times(pd.Series([dig(r, params["time_field"]) for r in records]), params)[0]
    except SourceError:
        return False
    return bool(t.notna().any() and t.min() < utc(since))


def need(params: dict, kind: str, *keys: str) -> None:
    """A source misconfigured in its TOML fails with the keys it lacks."""
    missing = [k for k in keys if not params.get(k)]
    if missing:
        raise SourceError(f"{kind} needs {' and '.join('params.' + k for k in missing)}")


def page_size(params: dict, default: int, most: int | None = None) -> int:
    size = int(params.get("page_size", default))
    return min(size, most) if most else size


def since_iso(since: Any, params: dict) -> str:
    """``since`` (naive UTC from the store) as ISO text in the table's own time zone (portals filter on it)."""
    tz = params.get("timezone", "UTC")
    return utc(since).tz_convert(tz).strftime("%Y-%m-%dT%H:%M:%S") + ("Z" if tz == "UTC" else "")


def _field(df: pd.DataFrame, name: str, key: str) -> pd.Series:
    if name in df.columns:
        return df[name]
    if "." in name:  # nested field, e.g. "fields.count" or "location.latitude"
        head = name.split(".", 1)[0]
        if head in df.columns:
            return df[head].map(lambda v: dig(v, name.split(".", 1)[1]))
    raise SourceError(
        f"upstream schema changed: params.{key} = {name!r} is not a field of the records "
        f"(fields: {', '.join(map(str, list(df.columns)[:15]))})"
    )


def to_geometry(value: Any) -> Any:
    """GeoJSON (dict or text, bare or as a Feature), WKT, {lat, lon} / {latitude, longitude}, or "lat,lon"."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, shapely.Geometry):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):
            return to_geometry(json.loads(text))
        try:
            if "," in text and "(" not in text:
                lat, lon = (float(x) for x in text.split(","))
                return shapely.Point(lon, lat)
            return shapely.from_wkt(text)
        except (ValueError, shapely.errors.GEOSException):
            return None
    if isinstance(value, dict):
        if value.get("type") == "Feature":
            return to_geometry(value.get("geometry"))
        if "coordinates" in value and "type" in value:
            return shape(value)
        for la, lo in (("lat", "lon"), ("latitude", "longitude"), ("y", "x")):
            if la in value and lo in value:
                try:
                    return shapely.Point(float(value[lo]), float(value[la]))
                except (TypeError, ValueError):
                    return None
    return None


def _id_series(df: pd.DataFrame, field: Any) -> pd.Series:
    if isinstance(field, (list, tuple)):
        parts = [_field(df, f, "id_field").astype(str).str.strip() for f in field]
        out = parts[0]
        for p in parts[1:]:
            out = out + "/" + p
        return out.where(pd.concat([_field(df, f, "id_field") for f in field], axis=1).notna().all(axis=1))
    return _field(df, field, "id_field")


def _time_series(df: pd.DataFrame, field: Any, key: str) -> pd.Series:
    if isinstance(field, (list, tuple)):  # e.g. ["JAHR", "MONAT"] -> "2025 DEZ."
        return tables.time_text(df, [_field(df, f, key) for f in field])
    return _field(df, field, key)


def records_to_result(
    records: Iterable[dict] | pd.DataFrame,
    params: dict,
    meta: SourceMeta,
    geometries: list | None = None,
    skipped_by_reason: dict[str, int] | None = None,
) -> ParseResult:
    """Turn a table of records into features and observations by the mapping in ``params`` (see module doc and
    data_sources/ingest/connectors/_tables.py for the reading options)."""
    df = records if isinstance(records, pd.DataFrame) else pd.DataFrame.from_records(list(records))
    layer = params.get("layer") or "point"
    reasons = dict(skipped_by_reason or {})
    rows_read = len(df) + sum(reasons.values())
    if len(df) == 0:
        out = result(geometry_features([], layer), empty_observations(), meta, sum(reasons.values()))
        out.skipped_by_reason, out.rows_read = reasons, rows_read
        return out
    if params.get("keep_rows"):  # e.g. { FZTYP = ["Kfz"] }: other rows are not this source's (not "skipped")
        for f, wanted in params["keep_rows"].items():
            wanted = [wanted] if isinstance(wanted, str) else list(wanted)
            df = df[_field(df, f, f"keep_rows.{f}").astype(str).str.strip().isin([str(w) for w in wanted])]
        rows_read = len(df) + sum(reasons.values())
    df = df.reset_index(drop=True)
    if params.get("wide"):
        df, params = tables.melt_wide(df, params)
        geometries = None

    # Where each row is.
    lat = lon = geom = None
    if params.get("lat_field") and params.get("lon_field"):
        lat, _ = tables.numbers(_field(df, params["lat_field"], "lat_field"), {"decimal": params.get("decimal")})
        lon, _ = tables.numbers(_field(df, params["lon_field"], "lon_field"), {"decimal": params.get("decimal")})
    elif params.get("geometry_field"):
        geom = _field(df, params["geometry_field"], "geometry_field").map(to_geometry)
    elif geometries is not None:
        geom = pd.Series(geometries, index=df.index)
    elif params.get("location"):  # a table about one place, e.g. one counter's series
        lat = pd.Series(float(params["location"][0]), index=df.index)
        lon = pd.Series(float(params["location"][1]), index=df.index)
    elif params.get("locations") and (params.get("locations_field") or params.get("id_field")):  # the file has none
        table = {str(k).strip(): v for k, v in params["locations"].items()}
        key = params.get("locations_field") or params["id_field"]
        ids = _time_series(df, key, "locations_field").astype(str).str.strip()
        lat = ids.map(lambda i: float(table[i][0]) if i in table else np.nan)
        lon = ids.map(lambda i: float(table[i][1]) if i in table else np.nan)
    else:
        raise SourceError(
            "the field mapping needs lat_field and lon_field, geometry_field, location = [lat, lon], "
            "or locations = { id = [lat, lon] } with id_field"
        )

    if params.get("id_field"):  # a field, or a list of fields joined by "/" (station/direction)
        raw_id = _id_series(df, params["id_field"])
        text_id = raw_id.astype(str).str.strip()
        ext = text_id.where(raw_id.notna() & (text_id != "") & (text_id != "nan"))
    elif lat is not None:
        ext = (lat.round(5).astype(str) + "," + lon.round(5).astype(str)).where(lat.notna() & lon.notna())
    else:
        ext = geom.map(lambda g: None if g is None else shapely.to_wkt(g, rounding_precision=5))
    name = _field(df, params["name_field"], "name_field").fillna("").astype(str) if params.get("name_field") else ext

    # Features: the first row of each id describes it.
    first = ~ext.duplicated() & ext.notna()  # a row without an id belongs to no feature
    mapped = {params.get(k) for k in MAPPING_KEYS if isinstance(params.get(k), str)} | set(
        (params.get("values") or {}).values()
    )
    mapped -= {params.get("locations_field")}  # fields of a composite id stay on the feature (e.g. a direction)
    mapped |= set((params.get("times") or {}).values())
    if isinstance(params.get("time_field"), list):
        mapped |= set(params["time_field"])
    keep = params.get("properties")
    if keep is None:
        sample = df.iloc[0]
        keep = [
            c
            for c in df.columns
            if c not in mapped and not isinstance(sample[c], (dict, list)) and not str(c).startswith("Unnamed:")
        ]
    props = (
        df.loc[first, [c for c in keep if c in df.columns]]
        .astype(object)
        .where(lambda x: x.notna(), None)
        .to_dict("records")
    )
    if lat is not None:
        rows = pd.DataFrame({"external_id": ext[first], "name": name[first], "lat": lat[first], "lon": lon[first]})
        rows["properties"] = props
        features = point_features(rows.to_dict("records"), layer)
    else:
        rows = [
            {"external_id": e, "name": n, "geometry": g, "properties": p}
            for e, n, g, p in zip(ext[first], name[first], geom[first], props)
        ]
        features = geometry_features(rows, layer)
    located = set(features["external_id"])
    row_reason = pd.Series("", index=df.index, dtype=object)
    row_reason[ext.isna()] = "id"
    row_reason[ext.notna() & ~ext.isin(located)] = "location"

    if params.get("time_field") or params.get("times"):
        obs, obs_reasons = _observations(df, ext, params, row_reason)
        reasons = tables.add(reasons, obs_reasons)
    else:
        obs = empty_observations()
        reasons = tables.add(reasons, tables.count(row_reason[first | ext.isna()]))
    out = result(features, obs, meta, sum(reasons.values()))
    out.skipped_by_reason, out.rows_read = reasons, rows_read
    return out


def _observations(
    df: pd.DataFrame, ext: pd.Series, params: dict, row_reason: pd.Series
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Observations of the table, and what was left out by reason: a row left out whole (no id, no location,
    an unreadable time) counts once; a reading missing from a row that gave others (a marker, a sentinel, not a
    number, its own time unreadable) counts once per reading."""
    times = params.get("times") or {}  # metric -> its own time field (a row per station, a time per component)
    default_time = None
    row_reason = row_reason.copy()
    if params.get("time_field"):
        default_time = tables.parse_times(
            _time_series(df, params["time_field"], "time_field"), params, f"time_field {params['time_field']!r}"
        )
        row_reason = row_reason.where(row_reason != "", default_time[1])
    # A row of a wide table is several long rows (one per column): a reason of the whole row counts once.
    whole = row_reason.isin(["time", "dst_gap"]) if "__row" in df else pd.Series(False, index=df.index)
    reasons = tables.add(
        tables.count(row_reason[~whole]),
        tables.count(row_reason[whole & ~df.get("__row", df.index.to_series()).duplicated()]),
    )
    units = params.get("units") or {}
    frames = []

    def frame(metric: Any, raw_values: pd.Series, unit: Any) -> None:
        metric_name = metric if isinstance(metric, str) else None
        if metric_name in times:
            t, t_reason = tables.parse_times(
                _field(df, times[metric_name], f"times.{metric_name}"), params, f"times.{metric_name}"
            )
        elif default_time is not None:
            t, t_reason = default_time
        else:
            raise SourceError(f"the field mapping has no time_field nor times.{metric_name}")
        values, v_reason = tables.numbers(raw_values, params, metric_name)
        reason = t_reason.where(t_reason != "", v_reason)
        frames.append(
            pd.DataFrame(
                {"external_id": ext, "time": t, "metric": metric, "value": values, "unit": unit, "reason": reason}
            )[row_reason == ""]
        )

    if params.get("value_field"):  # long table: one row per (thing, metric, time)
        rename = params.get("metrics") or {}
        upstream = _field(df, params.get("metric_field", "metric"), "metric_field").astype(str)
        metric = upstream.map(lambda m: rename.get(m, m))
        wanted = upstream.isin(list(rename)) if rename else pd.Series(True, index=df.index)
        if params.get("unit_field"):
            unit = _field(df, params["unit_field"], "unit_field").astype(str)
        else:
            unit = metric.map(lambda m: units.get(m, METRICS.get(m, "")))
        values, v_reason = tables.numbers(_field(df, params["value_field"], "value_field"), params)
        if default_time is None:
            raise SourceError("a long table (value_field) needs time_field")
        t, t_reason = default_time
        # with a rename table, metrics it does not name are not wanted (not counted as skipped)
        frames.append(
            pd.DataFrame(
                {"external_id": ext, "time": t, "metric": metric, "value": values, "unit": unit, "reason": v_reason}
            )[wanted & (row_reason == "")]
        )
    for metric, field in (params.get("values") or {}).items():
        frame(metric, _field(df, field, f"values.{metric}"), units.get(metric, METRICS.get(metric, "")))
    if not frames:
        raise SourceError("the field mapping has time_field but no values table nor value_field")
    raw = pd.concat(frames, ignore_index=True)
    reasons = tables.add(reasons, tables.count(raw["reason"]))
    raw = raw[raw["reason"] == ""]
    obs = observations(raw)
    how = params.get("hourly")
    if how and len(obs):
        if how not in ("sum", "mean"):
            raise SourceError(f"params.hourly must be 'sum' or 'mean', not {how!r}")
        obs["time"] = obs["time"].dt.floor("h")
        keys = ["external_id", "metric", "unit"]
        obs = obs.groupby([*keys, "time"], as_index=False, sort=False)["value"].agg([how, "size"])
        # The store never overwrites a reading, so an hour cut by the fetch window (still filling up, or
        # before the page limit) must not be stored as final: drop each series' first and last hour when they
        # have fewer readings than that series' fullest hour.
        by = obs.groupby(keys)
        edge = (obs["time"] == by["time"].transform("max")) | (obs["time"] == by["time"].transform("min"))
        partial = edge & (obs["size"] < by["size"].transform("max"))
        reasons = tables.add(reasons, {"partial_hour": int(obs.loc[partial, "size"].sum())})
        obs = obs.loc[~partial].rename(columns={how: "value"})[["external_id", "time", "metric", "value", "unit"]]
    return obs, reasons
