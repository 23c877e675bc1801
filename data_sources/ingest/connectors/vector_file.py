"""Any vector file or URL that GDAL reads (GeoJSON, GeoPackage, Shapefile as .shp or zipped), through geopandas.

params: ``path`` or ``url``, optional ``file_layer`` (the layer inside a GeoPackage), ``id_field`` (default: a
field named ``id`` or ``@id``, else the row number, which is stable only while the file keeps its order),
``name_field`` (default ``name``), ``layer`` (the dashboard layer, default ``cycle_route``), and ``publisher``,
``licence``, ``attribution`` for the file's metadata. Features only; any CRS is reprojected to EPSG:4326.
No key; the licence is the publisher's.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from data_sources.ingest.connectors._common import result
from data_sources.ingest.connectors._portal import meta_from
from data_sources.ingest.http import request
from data_sources.ingest.types import FEATURE_COLUMNS, SourceError, empty_observations


def fetch(session: Any, params: dict, since: Any = None) -> Any:
    if params.get("url"):
        return {"name": params["url"], "content": request(session, params["url"]).content}
    if params.get("path"):
        return str(params["path"])
    raise SourceError("vector_file needs params.path or params.url")


def read_file(path: str, params: dict) -> str:
    return str(path)


def _read(payload: Any, params: dict) -> gpd.GeoDataFrame:
    kwargs = {"layer": params["file_layer"]} if params.get("file_layer") else {}
    try:
        if isinstance(payload, dict):
            return gpd.read_file(io.BytesIO(payload["content"]), **kwargs)
        if not Path(payload).exists():
            raise SourceError(f"{payload}: file not found")
        return gpd.read_file(payload, **kwargs)
    except SourceError:
        raise
    except Exception as e:  # GDAL's errors vary by driver; all mean "not a readable vector file"
        raise SourceError(f"not a readable vector file: {str(e).splitlines()[0][:200]}") from None


def _plain(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "{[":  # GDAL hands nested GeoJSON objects over as JSON text
        try:
            return json.loads(value)
        except ValueError:
            return value
    if hasattr(value, "tolist"):  # numpy scalars and arrays (list fields)
        value = value.tolist()
    return None if not isinstance(value, (list, dict)) and pd.isna(value) else value


def parse(payload: Any, params: dict) -> Any:
    gdf = _read(payload, params)
    if gdf.crs is None:
        gdf = gdf.set_crs("EPSG:4326")  # GeoJSON without a crs member is WGS84 by definition
    gdf = gdf.to_crs("EPSG:4326")
    id_field = params.get("id_field") or next((c for c in ("id", "@id", "osm_id") if c in gdf.columns), None)
    if id_field and id_field not in gdf.columns:
        raise SourceError(
            f"upstream schema changed: params.id_field = {id_field!r} is not a field of the file (fields: {', '.join(gdf.columns[:15])})"
        )
    name_field = params.get("name_field", "name")
    attrs = gdf.drop(columns="geometry")
    out = gpd.GeoDataFrame(
        {
            "external_id": attrs[id_field].astype(str)
            if id_field
            else pd.Series(range(len(gdf)), index=gdf.index).astype(str),
            "layer": params.get("layer", "cycle_route"),
            "name": attrs[name_field].fillna("").astype(str) if name_field in attrs else "",
            # Sparse files (OSM tags as columns) leave most fields empty: keep only what a feature has.
            "properties": [
                {k: p for k, v in rec.items() if (p := _plain(v)) is not None} for rec in attrs.to_dict("records")
            ],
        },
        geometry=gdf.geometry,
        crs="EPSG:4326",
    )
    keep = out.geometry.notna() & ~out.geometry.is_empty
    # Two features with one id (e.g. OSM ways split by a converter) would overwrite each other: keep the first.
    dup = out["external_id"].duplicated()
    parsed = result(
        out.loc[keep & ~dup, FEATURE_COLUMNS], empty_observations(), meta_from(params), int((~keep | dup).sum())
    )
    parsed.rows_read = len(gdf)
    parsed.skipped_by_reason = {
        k: v for k, v in {"geometry": int((~keep).sum()), "duplicate_id": int((keep & dup).sum())}.items() if v
    }
    return parsed
