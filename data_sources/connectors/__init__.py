"""Built-in connectors. Importing this package registers every kind (see data_sources.base.get_connector)."""
from data_sources.connectors import (  # noqa: F401
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
