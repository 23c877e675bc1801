"""The city's footprint: where its figures come from.

A city says with ``[city] clip`` what counts as the city: ``"bounds"`` (the default: its ``bounds`` box),
``"districts"`` (inside any of its district polygons) or ``"none"`` (everything counts). Features outside it are
stored and served as open data, but the ``features.outside`` flag keeps them out of every figure (KPIs, charts,
the map, the API's key figures). The flag is set by the store's upsert (``upsert_features(..., footprint=...)``),
so that refresh and import both set it; ``mark_outside`` sets it again for every feature when the footprint
changes (districts reloaded). ``outside_counts`` gives, per source, how many features lie outside: ``/about`` and
``citydash check`` show it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Engine, bindparam, func, select, update

from data_sources.config import CityConfig
from data_sources.store.models import District, Feature, Source


@dataclass(frozen=True)
class Footprint:
    """An area in EPSG:4326 (a box or a union of districts); a feature is outside when it does not touch it."""

    area: BaseGeometry
    mode: str

    def outside(self, geometries: list[BaseGeometry]) -> np.ndarray:
        """A boolean array: True for each geometry that does not intersect the area."""
        if not len(geometries):
            return np.zeros(0, dtype=bool)
        return ~shapely.intersects(np.asarray(geometries, dtype=object), self.area)


def footprint(engine: Engine | None, city: CityConfig) -> Footprint | None:
    """The city's footprint from its TOML (and, for ``clip = "districts"``, from the districts in the store), or
    None when everything counts: ``clip = "none"``, no ``bounds`` given, or no districts loaded yet (or no store
    to read them from)."""
    c = city.city
    if c.clip == "none":
        return None
    if c.clip == "districts":
        if engine is None:
            return None
        with engine.connect() as conn:
            geoms = conn.scalars(select(District.geometry)).all()
        if not geoms:
            return None
        area = shapely.union_all(shapely.from_geojson(list(geoms)))
    else:
        if c.bounds is None:
            return None
        (south, west), (north, east) = c.bounds
        area = shapely.box(west, south, east, north)
    shapely.prepare(area)
    return Footprint(area, c.clip)


def mark_outside(engine: Engine, fp: Footprint | None) -> int:
    """Set ``features.outside`` for every stored feature from ``fp`` (None: nothing is outside). Returns how
    many features are outside afterwards."""
    with engine.connect() as conn:
        rows = conn.execute(select(Feature.id, Feature.geometry, Feature.outside)).all()
    if not rows:
        return 0
    flags = (
        fp.outside(list(shapely.from_geojson([r[1] for r in rows])))
        if fp is not None
        else np.zeros(len(rows), dtype=bool)
    )
    changed = [{"_id": int(r[0]), "_o": bool(f)} for r, f in zip(rows, flags) if bool(r[2]) != bool(f)]
    if changed:
        with engine.begin() as conn:
            conn.execute(update(Feature).where(Feature.id == bindparam("_id")).values(outside=bindparam("_o")), changed)
    return int(flags.sum())


def outside_counts(engine: Engine) -> dict[str, int]:
    """Source name -> how many of its features lie outside the city's footprint (sources with none are left out).
    ``citydash check`` and ``/about`` report these."""
    q = (
        select(Source.name, func.count())
        .join(Feature, Feature.source_id == Source.id)
        .where(Feature.outside.is_(True))
        .group_by(Source.name)
    )
    with engine.connect() as conn:
        return {name: int(n) for name, n in conn.execute(q).all()}
