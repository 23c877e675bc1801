"""What every connector produces (``ParseResult``), what it is (the ``Connector`` protocol), and the canonical
layers and metrics.

A connector is one small module under ``data_sources/ingest/connectors/`` with three functions:

* ``fetch(session, params, since) -> payload``: talks HTTP through an injected ``requests.Session``
  (tests pass a recorded or mocked one), handles pagination and incremental windows;
* ``read_file(path, params) -> payload``: the same payload from a local file (``citydash import``);
* ``parse(payload, params) -> ParseResult``: a pure function of the payload.

It is listed under its kind name in ``data_sources.ingest.connectors.CONNECTORS``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

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
    # Why records were dropped, e.g. {"time": 31, "location": 2}; reasons not given are counted as "other".
    skipped_by_reason: dict[str, int] = field(default_factory=dict)
    rows_read: int | None = None  # records in the payload (table rows, stations...), when the parser knows
    # Attribute values that no mapping names (counted as "other"): {"cycle_type": {"Radweg": 12}}.
    unmapped: dict[str, dict[str, int]] = field(default_factory=dict)

    def reasons(self) -> dict[str, int]:
        """skipped_by_reason, with any remainder of ``skipped`` it does not explain as "other"."""
        out = {k: int(v) for k, v in self.skipped_by_reason.items() if v}
        rest = int(self.skipped) - sum(out.values())
        if rest > 0:
            out["other"] = out.get("other", 0) + rest
        return out


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
    def fetch(self, session: Any, params: dict[str, Any], since: Any = None) -> Any: ...

    def read_file(self, path: str, params: dict[str, Any]) -> Any: ...

    def parse(self, payload: Any, params: dict[str, Any]) -> ParseResult: ...


class SourceError(Exception):
    """A source could not be fetched or parsed; the message is one line for the data team."""
