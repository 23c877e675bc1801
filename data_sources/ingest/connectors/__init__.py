"""Built-in connectors. Importing this package registers every kind (see data_sources.ingest.types.get_connector)."""
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
    vector_file,
)
