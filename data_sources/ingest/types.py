"""What every connector produces, and the registry that finds connectors by kind name.

A connector is one small module under ``data_sources/ingest/connectors/`` with two halves:

* ``fetch(session, params, since) -> payload``: talks HTTP through an injected ``requests.Session``
  (tests pass a recorded or mocked one), handles pagination and incremental windows;
* ``parse(payload, params) -> ParseResult``: a pure function of the payload.

It registers itself with ``@register("kind")``. Nothing here imports Dash.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import geopandas as gpd
import pandas as pd

# Layers the dashboard knows how to draw; portal adapters may add free-form ones (e.g. "wifi_point").
LAYERS = {
    "air_station": "Air-quality station",
    "traffic_counter": "Traffic counter",
    "traffic_segment": "Road segment",
    "cycle_route": "Cycle route",
    "cycle_counter": "Cycle counter",
    "bike_station": "Bike-share station",
}

# Canonical metric names and the store's unit for each. Parsers convert into these units.
METRICS = {
    "pm25": "µg/m³",
    "pm10": "µg/m³",
    "no2": "µg/m³",
    "o3": "µg/m³",
    "so2": "µg/m³",
    "co": "µg/m³",
    "temperature": "°C",
    "humidity": "%",
    "pressure": "hPa",
    "vehicles": "vehicles/h",
    "aadf": "vehicles/day",
    "cyclists": "cyclists/h",
    "bikes_available": "bikes",
    "docks_available": "docks",
}

FEATURE_COLUMNS = ["external_id", "layer", "name", "properties", "geometry"]
OBSERVATION_COLUMNS = ["external_id", "time", "metric", "value", "unit"]


@dataclass
class SourceMeta:
    publisher: str = ""
    licence: str = ""
    attribution: str = ""
    url: str = ""


@dataclass
class ParseResult:
    """Features (EPSG:4326) and observations (UTC, store units), keyed by the upstream external id."""

    features: gpd.GeoDataFrame
    observations: pd.DataFrame
    meta: SourceMeta = field(default_factory=SourceMeta)
    skipped: int = 0  # upstream records dropped as unusable (no location, no value...)


def empty_features() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({c: [] for c in FEATURE_COLUMNS[:-1]}, geometry=[], crs="EPSG:4326")


def empty_observations() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "external_id": pd.Series(dtype=str),
            "time": pd.Series(dtype="datetime64[ns, UTC]"),
            "metric": pd.Series(dtype=str),
            "value": pd.Series(dtype=float),
            "unit": pd.Series(dtype=str),
        }
    )


class Connector(Protocol):
    kind: str

    def fetch(self, session: Any, params: dict, since: Any = None) -> Any: ...

    def parse(self, payload: Any, params: dict) -> ParseResult: ...


class SourceError(Exception):
    """A source could not be fetched or parsed; the message is one line for the data team."""


_REGISTRY: dict[str, Any] = {}


def register(kind: str) -> Callable[[Any], Any]:
    def deco(obj: Any) -> Any:
        obj.kind = kind
        _REGISTRY[kind] = obj
        return obj

    return deco


def get_connector(kind: str) -> Any:
    from data_sources.ingest import connectors  # noqa: F401  (importing registers the built-in kinds)

    try:
        return _REGISTRY[kind]
    except KeyError:
        raise SourceError(f"unknown connector kind {kind!r}; known: {', '.join(sorted(_REGISTRY))}") from None


def connector_kinds() -> list[str]:
    from data_sources.ingest import connectors  # noqa: F401

    return sorted(_REGISTRY)
