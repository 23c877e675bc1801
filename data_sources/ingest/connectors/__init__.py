"""The built-in connectors, by kind name (the ``kind`` of a source in a city's TOML).

To add one: write its module here (see ``data_sources.ingest.types.Connector``) and list it in ``CONNECTORS``.
"""

from __future__ import annotations

from data_sources.ingest.connectors import (
    arcgis,
    ckan,
    csv_table,
    dft_traffic,
    gbfs,
    openaq,
    opendatasoft,
    overpass,
    sensor_community,
    sensorthings,
    socrata,
    telraam,
    timeseries_api,
    vector_file,
)
from data_sources.ingest.types import Connector, SourceError

CONNECTORS: dict[str, Connector] = {
    "arcgis": arcgis,
    "ckan": ckan,
    "csv": csv_table,
    "dft_aadf": dft_traffic,
    "gbfs": gbfs,
    "openaq": openaq,
    "opendatasoft": opendatasoft,
    "overpass": overpass,
    "sensor_community": sensor_community,
    "sensorthings": sensorthings,
    "socrata": socrata,
    "telraam": telraam,
    "52north": timeseries_api,
    "vector_file": vector_file,
}


def get_connector(kind: str) -> Connector:
    try:
        return CONNECTORS[kind]
    except KeyError:
        raise SourceError(f"unknown connector kind {kind!r}; known: {', '.join(sorted(CONNECTORS))}") from None


def connector_kinds() -> list[str]:
    return sorted(CONNECTORS)
