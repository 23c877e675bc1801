"""The city's districts from any polygon file named in the TOML's [districts] table.

``sync_districts`` loads them when the store has none or when the file says something different from the store
(a name, code, population or boundary changed), then places every feature in its district. A district that
disappears from the file is left in the store: comments and features may still point at it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import Engine, select

from data_sources.config import CityConfig
from data_sources.ingest.types import SourceError
from data_sources.store.db import assign_districts, replace_districts
from data_sources.store.models import District, Feature


def load_districts(
    path: str | Path, name_field: str = "name", population_field: str | None = None, code_field: str | None = None
) -> gpd.GeoDataFrame:
    """GeoDataFrame with name, code, population and (Multi)Polygon geometry in EPSG:4326."""
    try:
        gdf = gpd.read_file(path)
    except Exception as e:  # GDAL's errors vary by driver
        raise SourceError(f"districts file {path}: not readable ({str(e).splitlines()[0][:200]})") from None
    for key, field in (("name_field", name_field), ("population_field", population_field), ("code_field", code_field)):
        if field and field not in gdf.columns:
            raise SourceError(
                f"districts file {path}: districts.{key} = {field!r} is not a field (fields: {', '.join(gdf.columns[:15])})"
            )
    gdf = (gdf.set_crs("EPSG:4326") if gdf.crs is None else gdf).to_crs("EPSG:4326")
    polys = gdf.geometry.notna() & gdf.geom_type.isin(["Polygon", "MultiPolygon"])
    if not polys.any():
        raise SourceError(f"districts file {path}: no polygons")
    gdf = gdf[polys]
    return gpd.GeoDataFrame(
        {
            "name": gdf[name_field].astype(str),
            "code": gdf[code_field].astype(str) if code_field else None,
            "population": pd.to_numeric(gdf[population_field], errors="coerce") if population_field else None,
        },
        geometry=gdf.geometry.make_valid(),
        crs="EPSG:4326",
    )


def _signature(names: Any, codes: Any, pops: Any, geoms: Any) -> set:
    def norm(v: Any) -> Any:
        return (
            None
            if v is None or (isinstance(v, float) and pd.isna(v))
            else str(int(v))
            if isinstance(v, float)
            else str(v)
        )

    return {(str(n), norm(c), norm(p), g) for n, c, p, g in zip(names, codes, pops, geoms)}


def sync_districts(engine: Engine, city: CityConfig) -> int:
    """Load the city's districts if the store lacks them or they changed. Returns how many were (re)loaded."""
    if city.districts is None:
        return 0
    d = city.districts
    gdf = load_districts(city.resolve(d.file), d.name_field, d.population_field, d.code_field)
    geoms = [shapely.to_geojson(g) for g in gdf.geometry]
    wanted = _signature(gdf["name"], gdf["code"], gdf["population"], geoms)
    with engine.connect() as conn:
        stored = conn.execute(select(District.name, District.code, District.population, District.geometry)).all()
    if stored and wanted <= _signature(*zip(*stored)):
        return 0
    n = replace_districts(engine, gdf)
    # Boundaries moved: features must be placed again, not only those that had no district.
    with engine.begin() as conn:
        conn.execute(Feature.__table__.update().values(district_id=None))
    assign_districts(engine, Feature)
    return n
