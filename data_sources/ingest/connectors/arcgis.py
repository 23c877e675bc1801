"""ArcGIS REST FeatureServer / MapServer layers (``.../FeatureServer/0/query``), no key for public layers.

params: ``url`` (the layer, ending in its number), optional ``where`` (SQL, default ``1=1``), ``page_size``
(default 1000; the server may cap it at its maxRecordCount, and says so with ``exceededTransferLimit``),
``max_records`` (default 100000), plus the field mapping of data_sources/ingest/connectors/_portal.py. Geometry comes
with each feature (asked in EPSG:4326), so ``lat_field``/``lon_field`` are optional; dates are epoch
milliseconds, which the mapping reads as UTC.
"""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry import shape

from data_sources.ingest.connectors._common import read_json_payload, require
from data_sources.ingest.connectors._portal import iter_pages, meta_from, records_to_result
from data_sources.ingest.http import get_json
from data_sources.ingest.types import SourceError


def fetch(session: Any, params: dict, since: Any = None) -> dict:
    if not params.get("url"):
        raise SourceError("arcgis needs params.url, the layer's FeatureServer/N address")
    url = params["url"].rstrip("/") + "/query"
    size = int(params.get("page_size", 1000))
    where = params.get("where", "1=1")
    if since is not None and params.get("time_field"):
        where = f"({where}) AND {params['time_field']} >= TIMESTAMP '{since:%Y-%m-%d %H:%M:%S}'"
    query = {"where": where, "outFields": "*", "outSR": 4326, "f": "geojson", "resultRecordCount": size}
    pages, offset, most = [], 0, int(params.get("max_records", 100_000))
    while offset < most:
        doc = get_json(session, url, params={**query, "resultOffset": offset})
        if isinstance(doc, dict) and "error" in doc:  # ArcGIS reports errors in a 200 response
            raise SourceError(f"ArcGIS error: {doc['error'].get('message', doc['error'])}")
        records, _ = _records(doc)
        pages.append(doc)
        offset += len(records)
        more = doc.get("exceededTransferLimit") or (doc.get("properties") or {}).get("exceededTransferLimit")
        if not records or not more:
            break
    return {"pages": pages}


def _esri_geometry(g: dict | None) -> Any:
    if not g:
        return None
    if "x" in g and "y" in g:
        return shapely.Point(g["x"], g["y"])
    if "paths" in g:
        return shapely.MultiLineString(g["paths"])
    if "rings" in g:  # outer and inner rings are not told apart here; good enough to draw and to locate
        return shapely.MultiPolygon([shapely.Polygon(r) for r in g["rings"]])
    return None


def _records(doc: Any) -> tuple[list, list]:
    """(attribute dicts, geometries) from GeoJSON (f=geojson) or Esri JSON (f=json)."""
    require(doc, ("features",), "an ArcGIS query response")
    feats = doc["features"]
    if feats and "attributes" in feats[0]:
        return [f["attributes"] for f in feats], [_esri_geometry(f.get("geometry")) for f in feats]
    return [f.get("properties") or {} for f in feats], [
        shape(f["geometry"]) if f.get("geometry") else None for f in feats
    ]


read_file = read_json_payload


def parse(payload: Any, params: dict) -> Any:
    records, geoms = [], []
    for page in iter_pages(payload):
        r, g = _records(page)
        records += r
        geoms += g
    return records_to_result(records, params, meta_from(params, licence="see the layer's licence"), geometries=geoms)
