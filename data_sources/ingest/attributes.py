"""Canonical attributes per layer, mapped from each source's own fields, never assumed.

A figure that groups features (km of cycle network by type, counts per direction, stations by type) reads a
canonical attribute from the feature's properties. Each source says how its own field maps to it:

* built in for OpenStreetMap tags (cycle_type from highway=cycleway, cycleway[:left|:right|:both]=lane / track /
  shared_lane / opposite_*, bicycle_road, cyclestreet, segregated): the default for cycle routes whose features
  carry OSM tags (the overpass kind, an Overpass GeoJSON export read by vector_file);
* a table in the city TOML for portal files::

      [[sources]]
      name = "radwege"
      kind = "vector_file"
      attributes = { cycle_type = { field = "TYP", values = { "Radweg" = "track", "Mehrzweckstreifen" = "lane" } } }

A value no table names becomes ``"other"`` and is counted per source (value -> count): /about and
``citydash check`` list them, so that a data team can see what to map. The upstream field stays on the feature.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Mapping

import geopandas as gpd

from data_sources.ingest.types import ParseResult, SourceError

# attribute -> (the layers it describes, its canonical values). "other" is always allowed.
CANONICAL: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "cycle_type": (("cycle_route",), ("track", "lane", "shared", "cycle_street", "path", "greenway")),
    "direction": (
        ("traffic_counter", "traffic_segment", "cycle_counter"),
        ("total", "inbound", "outbound", "northbound", "southbound", "eastbound", "westbound"),
    ),
    "station_type": (
        ("air_station", "bike_station"),
        ("traffic", "background", "industrial", "rural", "urban", "docked", "virtual"),
    ),
}
OTHER = "other"
OSM = "osm"  # the built-in mapping of OpenStreetMap tags (cycle_type only)
_OSM_SIDES = ("cycleway", "cycleway:left", "cycleway:right", "cycleway:both")


def check_spec(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a source's ``attributes`` table; a mistake raises ValueError with one line."""
    out: dict[str, Any] = {}
    for attr, spec in attributes.items():
        if attr not in CANONICAL:
            raise ValueError(f"unknown attribute {attr!r}; known: {', '.join(CANONICAL)}")
        allowed = set(CANONICAL[attr][1]) | {OTHER}
        if spec == OSM:
            if attr != "cycle_type":
                raise ValueError(f"{attr}: the built-in 'osm' mapping exists for cycle_type only")
            out[attr] = OSM
            continue
        if not isinstance(spec, Mapping) or not isinstance(spec.get("field"), str):
            raise ValueError(f"{attr}: expected 'osm' or {{ field = \"...\", values = {{ upstream = canonical }} }}")
        unknown_keys = set(spec) - {"field", "values"}
        if unknown_keys:
            raise ValueError(f"{attr}: unknown key {sorted(unknown_keys)[0]!r} (keys: field, values)")
        values = spec.get("values") or {}
        bad = sorted({str(v) for v in values.values()} - allowed)
        if bad:
            raise ValueError(f"{attr}: {bad[0]!r} is not a canonical value; use one of {', '.join(sorted(allowed))}")
        out[attr] = {"field": spec["field"], "values": {str(k): str(v) for k, v in values.items()}}
    return out


def osm_cycle_type(tags: Mapping[str, Any]) -> str | None:
    """cycle_type from OpenStreetMap tags, or None when the tags say nothing about cycling infrastructure."""
    if str(tags.get("bicycle_road", "")) == "yes" or str(tags.get("cyclestreet", "")) == "yes":
        return "cycle_street"
    sides = {str(tags.get(k, "")) for k in _OSM_SIDES}
    highway = str(tags.get("highway", ""))
    if highway == "cycleway":
        # A cycleway pedestrians may use without separation is a shared path.
        if str(tags.get("foot", "")) in ("designated", "yes") and str(tags.get("segregated", "")) == "no":
            return "path"
        return "track"
    if sides & {"track", "opposite_track"}:
        return "track"
    if sides & {"lane", "opposite_lane"}:
        return "lane"
    if sides & {"shared_lane", "share_busway", "opposite_share_busway", "opposite", "shared"}:
        return "shared"
    if highway in ("path", "footway", "pedestrian", "track", "bridleway") and str(tags.get("bicycle", "")) in (
        "designated",
        "yes",
    ):
        return "track" if str(tags.get("segregated", "")) == "yes" else "path"
    return None


def _osm_raw(tags: Mapping[str, Any]) -> str:
    """What to list as the unmapped value of a feature the OSM mapping cannot place."""
    for k in ("cycleway", "cycleway:both", "cycleway:right", "cycleway:left"):
        if tags.get(k):
            return f"{k}={tags[k]}"
    return f"highway={tags['highway']}" if tags.get("highway") else "(no highway tag)"


def has_osm_tags(properties: Mapping[str, Any]) -> bool:
    return any(k in properties for k in ("highway", *_OSM_SIDES, "bicycle_road", "cyclestreet"))


def cycle_type_of(properties: Mapping[str, Any] | None) -> str:
    """The canonical cycle type of a stored route: its mapped ``cycle_type``, else (routes stored before the
    mapping existed) what its OSM tags say, else "other"."""
    p = properties or {}
    value = p.get("cycle_type")
    if value in CANONICAL["cycle_type"][1]:
        return str(value)
    if has_osm_tags(p):
        return osm_cycle_type(p) or OTHER
    return OTHER


def default_spec(layer: str | None, features: gpd.GeoDataFrame) -> dict[str, Any]:
    """Cycle routes that carry OSM tags are mapped by the built-in OSM table unless the source says otherwise."""
    if layer == "cycle_route" and len(features) and any(has_osm_tags(p or {}) for p in features["properties"]):
        return {"cycle_type": OSM}
    return {}


def map_attributes(
    features: gpd.GeoDataFrame, spec: Mapping[str, Any]
) -> tuple[gpd.GeoDataFrame, dict[str, dict[str, int]]]:
    """Write each canonical attribute of ``spec`` into the features' properties; returns the features and the
    unmapped values per attribute (value -> count). Pure: the input frame is not changed."""
    if not spec or not len(features):
        return features, {}
    unmapped: dict[str, Counter] = {}
    props_out = []
    for props in features["properties"]:
        p = dict(props or {})
        for attr, how in spec.items():
            if how == OSM:
                value = osm_cycle_type(p)
                raw = None if value else _osm_raw(p)
            else:
                raw_value = p.get(how["field"])
                raw = "(empty)" if raw_value is None or str(raw_value).strip() == "" else str(raw_value).strip()
                value = how["values"].get(raw) or how["values"].get(str(raw_value))
                raw = None if value else raw
            if value is None:
                value = OTHER
                unmapped.setdefault(attr, Counter())[raw] += 1
            elif value == OTHER:  # mapped to "other" on purpose: not a gap to report
                pass
            p[attr] = value
        props_out.append(p)
    out = features.copy()
    out["properties"] = props_out
    return out, {a: dict(c.most_common()) for a, c in unmapped.items()}


def apply(parsed: ParseResult, params: Mapping[str, Any]) -> ParseResult:
    """The mapping of ``params["attributes"]`` (or the default for the layer) applied to a parse result."""
    try:
        spec = check_spec(params.get("attributes") or {})
    except ValueError as e:
        raise SourceError(f"attributes: {e}") from None
    layer = params.get("layer") or (str(parsed.features["layer"].iloc[0]) if len(parsed.features) else None)
    spec = {**default_spec(layer, parsed.features), **spec}
    features, unmapped = map_attributes(parsed.features, spec)
    parsed.features = features
    parsed.unmapped = {**parsed.unmapped, **unmapped}
    return parsed
