"""OpenStreetMap cycleways and cycle lanes through the Overpass API, no key.

fetch: POSTs an Overpass QL query (``[out:json]``, ``out geom`` so ways come with their coordinates) to
``params.endpoint`` (default https://overpass-api.de/api/interpreter). By default it asks for
``highway=cycleway``, ways with ``cycleway``/``cycleway:left|right|both`` lanes or tracks, and ``bicycle=designated``
paths inside ``params.bbox = [south, west, north, east]``; ``params.query`` replaces it with your own (it must
``out geom``). OSM has no useful "since", so each refresh takes the network as it is.

parse: ways become LineStrings, route relations MultiLineStrings of their member ways, with every OSM tag in
the properties and a ``facility`` summary (track, lane, shared, path). Overpass reports a timed-out query in a
``remark`` of an otherwise normal answer: that is an error, not an empty network.

Licence: ODbL 1.0; attribute "© OpenStreetMap contributors".
"""

from __future__ import annotations

from typing import Any

import shapely

from data_sources.ingest.connectors._common import geometry_features, read_json_payload, require, result
from data_sources.ingest.http import get_json
from data_sources.ingest.types import SourceError, SourceMeta, empty_observations

ENDPOINT = "https://overpass-api.de/api/interpreter"
META = SourceMeta(
    publisher="OpenStreetMap contributors",
    licence="ODbL 1.0",
    attribution="© OpenStreetMap contributors",
    url="https://www.openstreetmap.org/copyright",
)
QUERY = """[out:json][timeout:{timeout}];
(
  way["highway"="cycleway"]({bbox});
  way["cycleway"~"^(lane|track|shared_lane|opposite_lane|opposite_track)$"]({bbox});
  way["cycleway:left"~"^(lane|track|shared_lane)$"]({bbox});
  way["cycleway:right"~"^(lane|track|shared_lane)$"]({bbox});
  way["cycleway:both"~"^(lane|track|shared_lane)$"]({bbox});
  way["bicycle"="designated"]({bbox});
);
out geom;"""


def build_query(params: dict) -> str:
    if params.get("query"):
        return params["query"]
    bbox = params.get("bbox")
    if not bbox or len(bbox) != 4:
        raise SourceError("overpass needs params.bbox = [south, west, north, east] or params.query")
    return QUERY.format(timeout=int(params.get("timeout", 120)), bbox=",".join(str(float(v)) for v in bbox))


def fetch(session: Any, params: dict, since: Any = None) -> dict:
    query = build_query(params)
    timeout = (10, int(params.get("timeout", 120)) + 30)  # the server may use all of its own timeout
    return get_json(session, params.get("endpoint", ENDPOINT), method="POST", data={"data": query}, timeout=timeout)


def facility(tags: dict) -> str:
    values = {tags.get(k, "") for k in ("cycleway", "cycleway:left", "cycleway:right", "cycleway:both")}
    if tags.get("highway") == "cycleway" or "track" in values or "opposite_track" in values:
        return "track"
    if "lane" in values or "opposite_lane" in values:
        return "lane"
    if "shared_lane" in values:
        return "shared"
    return "path"


def _line(points: list | None) -> Any:
    coords = [(p["lon"], p["lat"]) for p in points or [] if p]
    return shapely.LineString(coords) if len(coords) >= 2 else None


def parse(payload: Any, params: dict) -> Any:
    require(payload, ("elements",), "an Overpass JSON answer")
    remark = payload.get("remark") or ""
    if "error" in remark.lower():
        raise SourceError(f"Overpass: {remark.strip()[:200]}")
    rows, skipped = [], 0
    for el in payload["elements"]:
        require(el, ("type", "id"), "an Overpass element")
        tags = el.get("tags") or {}
        if el["type"] == "way":
            geom = _line(el.get("geometry"))
        elif el["type"] == "relation":
            lines = [g for m in el.get("members") or [] if m.get("type") == "way" and (g := _line(m.get("geometry")))]
            geom = shapely.MultiLineString(lines) if lines else None
        else:
            continue  # nodes carry no route geometry
        if geom is None:
            skipped += 1
            continue
        name = tags.get("name") or tags.get("ref") or f"{tags.get('highway', el['type'])} {el['id']}"
        rows.append(
            {
                "external_id": f"{el['type']}/{el['id']}",
                "name": name,
                "geometry": geom,
                "properties": {**tags, "facility": facility(tags)},
            }
        )
    out = result(geometry_features(rows, params.get("layer", "cycle_route")), empty_observations(), META, skipped)
    out.rows_read = len(payload["elements"])
    if skipped:
        out.skipped_by_reason = {"geometry": skipped}
    return out


read_file = read_json_payload
