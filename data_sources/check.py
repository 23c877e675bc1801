"""``citydash check``: a data team's view of every source of a city, without writing to the store.

For each source of the city's TOML it reads the source as a refresh would (HTTP, or the staged file), parses it
and reports: reachable or readable, rows read, loaded (features and readings), skipped by reason, features
outside the city's footprint, the newest reading and its age, attribute values no mapping names, and whether
a licence and an attribution are stated. Sources only in the store (imported without a TOML entry) are
reported from their last run. A source that would show nothing (unreadable, or nothing loadable) fails the
check.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import shapely
from sqlalchemy import Engine, func, select

from data_sources.ingest.connectors import get_connector
from data_sources.ingest.types import ParseResult
from data_sources.refresh import connector_params, fetch_payload, one_line, parse_checked
from data_sources.store.districts import load_districts
from data_sources.store.footprint import Footprint, footprint, outside_counts
from data_sources.store.models import Feature, Observation, RefreshRun, Source


@dataclass
class SourceCheck:
    source: str
    kind: str
    readable: bool = False
    error: str | None = None
    rows_read: int | None = None
    features: int = 0
    observations: int = 0
    skipped_by_reason: dict[str, int] = field(default_factory=dict)
    outside_footprint: int | None = None  # None: "n/a" (see outside_footprint below)
    newest: str | None = None  # ISO 8601 UTC of the newest reading
    age_hours: float | None = None
    unmapped: dict[str, dict[str, int]] = field(default_factory=dict)
    licence: bool = False
    attribution: bool = False
    checked: str = "read"  # "read" (fetched or read now) or "store" (last run of an imported source)

    @property
    def shows_nothing(self) -> bool:
        return not self.readable or (self.features == 0 and self.observations == 0)

    def as_dict(self) -> dict:
        return {**asdict(self), "shows_nothing": self.shows_nothing}


def outside_footprint(fp: Footprint | None, parsed: ParseResult) -> int | None:
    """How many of ``parsed``'s features lie outside the city's footprint (``data_sources.store.footprint``): they would
    be stored but counted in no figure. None ("n/a") when the city has no footprint to judge by (``clip = "none"``,
    no bounds, or ``clip = "districts"`` before any district is loaded)."""
    if fp is None:
        return None
    geoms = [g for g in parsed.features.geometry if g is not None and not g.is_empty]
    return int(fp.outside(geoms).sum())


def _newest(obs: pd.DataFrame) -> pd.Timestamp | None:
    if obs is None or not len(obs):
        return None
    t = pd.to_datetime(obs["time"], utc=True).max()
    return None if pd.isna(t) else t


def _age(t: pd.Timestamp | datetime | None, now: datetime) -> tuple[str | None, float | None]:
    if t is None:
        return None, None
    t = pd.Timestamp(t)
    t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")  # type: ignore[union-attr]  # a Timestamp
    n = pd.Timestamp(now)
    n = n.tz_localize("UTC") if n.tzinfo is None else n.tz_convert("UTC")
    return t.isoformat().replace("+00:00", "Z"), round((n - t).total_seconds() / 3600, 1)


def check_source(
    source: Any, session: Any, fp: Footprint | None, now: datetime, base: Path | None = None
) -> SourceCheck:
    """Read and parse one configured source as a refresh would, without storing anything."""
    out = SourceCheck(source=source.name, kind=source.kind)
    params = connector_params(source)
    out.licence, out.attribution = (
        bool(params.get("licence")),
        bool(params.get("attribution") or params.get("publisher")),
    )
    try:
        connector = get_connector(source.kind)
        parsed = parse_checked(connector, fetch_payload(connector, session, params, None, base), params)
    except Exception as e:  # every failure is a line of the report; none stops the check
        out.error = one_line(e)
        return out
    out.readable = True
    out.rows_read = parsed.rows_read
    out.features, out.observations = len(parsed.features), len(parsed.observations)
    out.skipped_by_reason = parsed.reasons()
    out.unmapped = parsed.unmapped
    out.outside_footprint = outside_footprint(fp, parsed)
    out.newest, out.age_hours = _age(_newest(parsed.observations), now)
    out.licence = out.licence or bool(parsed.meta.licence)
    out.attribution = out.attribution or bool(parsed.meta.attribution)
    return out


def check_stored(engine: Engine, name: str, now: datetime) -> SourceCheck:
    """A source only in the store (an import without a TOML entry): its last run and stored data."""
    with engine.connect() as conn:
        src = conn.execute(select(Source).where(Source.name == name)).one()
        run = conn.execute(
            select(RefreshRun).where(RefreshRun.source_id == src.id).order_by(RefreshRun.id.desc()).limit(1)
        ).first()
        features = conn.scalar(select(func.count()).select_from(Feature).where(Feature.source_id == src.id)) or 0
        observations = (
            conn.scalar(
                select(func.count())
                .select_from(Observation)
                .join(Feature, Observation.feature_id == Feature.id)
                .where(Feature.source_id == src.id)
            )
            or 0
        )
        newest = conn.scalar(
            select(func.max(Observation.time))
            .join(Feature, Observation.feature_id == Feature.id)
            .where(Feature.source_id == src.id)
        )
    out = SourceCheck(
        source=name,
        kind=src.kind,
        checked="store",
        features=features,
        observations=observations,
        licence=bool(src.licence),
        attribution=bool(src.attribution or src.publisher),
    )
    out.readable = src.last_success_at is not None
    out.error = src.last_error if not out.readable else None
    if run is not None:
        out.rows_read = run.rows_read
        out.skipped_by_reason = run.skipped_by_reason or ({"other": run.skipped} if run.skipped else {})
        out.unmapped = run.unmapped or {}
    out.newest, out.age_hours = _age(newest, now)
    out.outside_footprint = outside_counts(engine).get(name, 0)
    return out


def districts_file_footprint(city: Any) -> Footprint | None:
    """For ``clip = "districts"`` when the store holds no districts yet (a new city checked before its first
    refresh, or ``--no-store``): the footprint of the districts file the TOML names, as a refresh would load it."""
    if city.city.clip != "districts" or city.districts is None:
        return None
    d = city.districts
    gdf = load_districts(city.resolve(d.file), d.name_field, d.population_field, d.code_field)
    area = shapely.union_all(list(gdf.geometry))
    shapely.prepare(area)
    return Footprint(area, "districts")


def check_city(engine: Engine | None, city: Any, session: Any, now: datetime) -> list[SourceCheck]:
    """Every enabled source of the city's TOML, then the store's other sources (when a store is given)."""
    base = city.path.parent if city.path else None
    fp = footprint(engine, city) or districts_file_footprint(city)
    out = [check_source(s, session, fp, now, base) for s in city.sources if s.enabled]
    if engine is not None:
        configured = {s.name for s in city.sources}
        with engine.connect() as conn:
            names = [n for n in conn.scalars(select(Source.name).order_by(Source.name)) if n not in configured]
        out += [check_stored(engine, n, now) for n in names]
    return out


def render_table(checks: list[SourceCheck]) -> Any:
    """A rich Table of the checks (the terminal view of ``citydash check``)."""
    from rich.table import Table

    table = Table(title="citydash check", show_lines=False)
    for col in (
        "source",
        "kind",
        "read",
        "rows",
        "features",
        "readings",
        "skipped by reason",
        "outside",
        "newest reading",
        "age",
        "unmapped values",
        "licence",
        "attribution",
    ):
        table.add_column(col)
    for c in checks:
        readable = ("yes" if c.readable else f"NO: {c.error}") + (" (store)" if c.checked == "store" else "")
        unmapped = "; ".join(
            f"{a}: " + ", ".join(f"{v} ×{n}" for v, n in list(vals.items())[:5]) for a, vals in c.unmapped.items()
        )
        table.add_row(
            c.source,
            c.kind,
            readable,
            "–" if c.rows_read is None else str(c.rows_read),
            str(c.features),
            str(c.observations),
            ", ".join(f"{k} {v}" for k, v in c.skipped_by_reason.items()) or "–",
            "n/a" if c.outside_footprint is None else str(c.outside_footprint),
            c.newest or "–",
            "–" if c.age_hours is None else _age_words(c.age_hours),
            unmapped or "–",
            "yes" if c.licence else "MISSING",
            "yes" if c.attribution else "MISSING",
            style="red" if c.shows_nothing else None,
        )
    return table


def _age_words(hours: float) -> str:
    if hours < 48:
        return f"{hours:g} h"
    return f"{hours / 24:.0f} days"
