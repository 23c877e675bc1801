"""Helpers shared by the connector modules: building the two frames of a ParseResult and checking payloads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from data_sources.ingest.types import (
    FEATURE_COLUMNS,
    OBSERVATION_COLUMNS,
    ParseResult,
    SourceError,
    SourceMeta,
    empty_features,
    empty_observations,
)


def utc(t: Any) -> pd.Timestamp:
    """A time from the store (naive UTC) or from anywhere else, as an aware UTC timestamp."""
    t = pd.Timestamp(t)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def require(obj: Any, keys: Iterable[str], what: str) -> None:
    """Fail with one line when an upstream payload lacks fields we rely on (a schema change)."""
    if not isinstance(obj, Mapping):
        raise SourceError(f"upstream schema changed: expected {what} to be an object, got {type(obj).__name__}")
    missing = [k for k in keys if k not in obj]
    if missing:
        raise SourceError(
            f"upstream schema changed: {what} has no {', '.join(missing)} (has {', '.join(list(obj)[:12])})"
        )


def dig(obj: Any, path: str) -> Any:
    """``dig(rec, "a.b")`` -> rec["a"]["b"], or None when any step is missing."""
    for part in path.split("."):
        if not isinstance(obj, Mapping) or part not in obj:
            return None
        obj = obj[part]
    return obj


def point_features(rows: list[dict], layer: str) -> gpd.GeoDataFrame:
    """rows: dicts with external_id, name, lat, lon and optional properties. Rows without a finite location
    are dropped (the caller counts them as skipped)."""
    if not rows:
        return empty_features()
    # One row per id: a feed listing a station twice must not make the upsert touch one row twice.
    df = pd.DataFrame(rows).drop_duplicates("external_id").reset_index(drop=True)
    lat = pd.to_numeric(df["lat"], errors="coerce")
    lon = pd.to_numeric(df["lon"], errors="coerce")
    ok = lat.between(-90, 90) & lon.between(-180, 180) & ~((lat == 0) & (lon == 0))
    df = df[ok]
    props = df["properties"] if "properties" in df else pd.Series([{}] * len(df), index=df.index)
    return gpd.GeoDataFrame(
        {
            "external_id": df["external_id"].astype(str).to_numpy(),
            "layer": layer,
            "name": df["name"].fillna("").astype(str).to_numpy() if "name" in df else "",
            "properties": [p if isinstance(p, dict) else {} for p in props],
        },
        geometry=shapely.points(lon[ok].to_numpy(float), lat[ok].to_numpy(float)),
        crs="EPSG:4326",
    )[FEATURE_COLUMNS]


def geometry_features(rows: list[dict], layer: str) -> gpd.GeoDataFrame:
    """rows: dicts with external_id, name, properties and a shapely ``geometry``."""
    kept, seen = [], set()
    for r in rows:  # drop empty geometries, and keep the first row of an id listed twice
        if r.get("geometry") is None or r["geometry"].is_empty or r["external_id"] in seen:
            continue
        seen.add(r["external_id"])
        kept.append(r)
    rows = kept
    if not rows:
        return empty_features()
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")
    gdf["layer"] = layer
    gdf["external_id"] = gdf["external_id"].astype(str)
    gdf["name"] = gdf["name"].fillna("").astype(str) if "name" in gdf else ""
    if "properties" not in gdf:
        gdf["properties"] = [{} for _ in range(len(gdf))]
    return gdf[FEATURE_COLUMNS]


def observations(rows: list[dict] | pd.DataFrame) -> pd.DataFrame:
    """Observation rows -> the canonical frame: UTC times, float values, rows without a value dropped."""
    df = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
    if len(df) == 0:
        return empty_observations()
    out = pd.DataFrame(
        {
            "external_id": df["external_id"].astype(str),
            "time": pd.to_datetime(df["time"], utc=True, errors="coerce"),
            "metric": df["metric"].astype(str),
            "value": pd.to_numeric(df["value"], errors="coerce"),
            "unit": df["unit"].astype(str),
        }
    )
    ok = out["time"].notna() & np.isfinite(out["value"])
    return out.loc[ok, OBSERVATION_COLUMNS].reset_index(drop=True)


def result(features: gpd.GeoDataFrame, obs: pd.DataFrame, meta: SourceMeta, skipped: int = 0) -> ParseResult:
    return ParseResult(features=features, observations=obs, meta=meta, skipped=int(skipped))


def merge(results: list[ParseResult], meta: SourceMeta) -> ParseResult:
    """Several parse results of one source (e.g. one per archive file) as one; a feature seen twice is kept once."""
    if not results:
        return result(empty_features(), empty_observations(), meta)
    feats = pd.concat([r.features for r in results], ignore_index=True).drop_duplicates("external_id")
    obs = pd.concat([r.observations for r in results], ignore_index=True)
    return result(
        gpd.GeoDataFrame(feats, geometry="geometry", crs="EPSG:4326"), obs, meta, sum(r.skipped for r in results)
    )


def read_json_file(path: str | Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as e:
        raise SourceError(f"{path}: malformed JSON ({e.msg} at line {e.lineno})") from None
    except FileNotFoundError:
        raise SourceError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise SourceError(f"{path}: not UTF-8 text, so not JSON") from None


def read_json_payload(path: str | Path, params: dict) -> Any:
    """read_file() of connectors whose local payload is one JSON response."""
    return read_json_file(path)


def read_text_file(path: str | Path) -> str:
    return Path(path).read_text(encoding="utf-8-sig")
