"""Reads from the store for the dashboard, as DataFrames. No Dash here: pages call these, tests call these."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import ColumnElement, Engine, and_, func, select

from data_sources.store import rollups
from data_sources.store.models import (
    OPEN_STATUSES,
    Comment,
    CommentCellCount,
    District,
    Feature,
    Observation,
    RefreshRun,
    Source,
)


def counted() -> ColumnElement[bool]:
    """Observations of features inside the city's footprint (data_sources.store.footprint): the only ones its figures
    count. A NOT IN over the few outside features keeps the (metric, time) index usable."""
    return Observation.feature_id.not_in(select(Feature.id).where(Feature.outside.is_(True)))


def features(engine: Engine, layer: str | None = None, include_outside: bool = False) -> pd.DataFrame:
    """The features of ``layer`` (or all), those outside the city's footprint only when asked for."""
    q = select(
        Feature.id,
        Feature.layer,
        Feature.external_id,
        Feature.name,
        Feature.lat,
        Feature.lon,
        Feature.geometry,
        Feature.properties,
        Feature.district_id,
        Source.name.label("source"),
    ).join(Source, Source.id == Feature.source_id)
    if not include_outside:
        q = q.where(Feature.outside.is_(False))
    if layer:
        q = q.where(Feature.layer == layer)
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(q).all(), columns=[c.name for c in q.selected_columns])


def latest_time(engine: Engine, metric: str) -> datetime | None:
    """The newest reading of ``metric`` inside the city's footprint (the index walked backwards, not a max over
    all rows, so that the NOT IN does not cost a scan)."""
    q = (
        select(Observation.time)
        .where(Observation.metric == metric, counted())
        .order_by(Observation.time.desc())
        .limit(1)
    )
    with engine.connect() as conn:
        return conn.scalar(q)


def layer_updated(engine: Engine, layer: str) -> datetime | None:
    """When the newest counted feature of ``layer`` was last written (for layers without readings, such as the
    cycle network, the date of their data)."""
    q = select(func.max(Feature.updated_at)).where(Feature.layer == layer, Feature.outside.is_(False))
    with engine.connect() as conn:
        return conn.scalar(q)


def observations(
    engine: Engine,
    metric: str,
    since: datetime,
    until: datetime | None = None,
    feature_ids: list[int] | None = None,
    resolution: str = "raw",
) -> pd.DataFrame:
    """Readings of ``metric`` (feature_id, time, value); at another ``resolution`` than "raw", each feature's
    hourly, daily or monthly means from the rollups (data_sources/store/rollups.py; also n, low, high)."""
    if resolution != "raw":
        return rollups.read(engine, metric, resolution, since, until, feature_ids).drop(columns=["district_id"])
    cond = [Observation.metric == metric, Observation.time >= since, counted()]
    if until is not None:
        cond.append(Observation.time <= until)
    if feature_ids is not None:
        cond.append(Observation.feature_id.in_(feature_ids))
    q = select(Observation.feature_id, Observation.time, Observation.value).where(and_(*cond))
    with engine.connect() as conn:
        df = pd.DataFrame(conn.execute(q).all(), columns=["feature_id", "time", "value"])
    df["time"] = pd.to_datetime(df["time"])
    return df


def hour_of_week_history(engine: Engine, metric: str, at: datetime, weeks: int = 4) -> pd.DataFrame:
    """Observations at the same hour and weekday as ``at`` over the previous ``weeks`` weeks, plus ``at``."""
    times = [at - timedelta(weeks=k) for k in range(weeks + 1)]
    q = select(Observation.feature_id, Observation.time, Observation.value).where(
        Observation.metric == metric, Observation.time.in_(times), counted()
    )
    with engine.connect() as conn:
        df = pd.DataFrame(conn.execute(q).all(), columns=["feature_id", "time", "value"])
    df["time"] = pd.to_datetime(df["time"])
    return df


def districts(engine: Engine) -> pd.DataFrame:
    q = select(
        District.id,
        District.name,
        District.code,
        District.population,
        District.area_km2,
        District.geometry,
        District.lat,
        District.lon,
    )
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(q).all(), columns=[c.name for c in q.selected_columns])


def districts_geojson(engine: Engine) -> dict:
    d = districts(engine)
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": int(r.id),
                "properties": {"name": r.name, "population": r.population},
                "geometry": json.loads(r.geometry),
            }
            for r in d.itertuples()
        ],
    }


def open_comment_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return (
            conn.scalar(
                select(func.count())
                .select_from(Comment)
                .where(Comment.status.in_(OPEN_STATUSES), Comment.moderation == "published")
            )
            or 0
        )


def public_comment_cells(
    engine: Engine, resolution: int = 8, min_count: int = 3, category: str | None = None, since: datetime | None = None
) -> pd.DataFrame:
    """Published comments counted per H3 cell (comments without a cell left out); cells under ``min_count`` are
    suppressed for privacy (at r9, the published location of each comment, ``min_count=1`` shows every cell)."""
    if since is None:
        # From the trigger-kept counts (migration 0601), not a scan of every comment: the same cells and numbers.
        t = CommentCellCount
        cell, total = getattr(t, f"h3_r{resolution}"), func.sum(t.n)
        where = [cell != 0, *([t.category == category] if category is not None else [])]
        q = select(cell.label("cell"), total.label("n")).where(*where).group_by(cell).having(total >= min_count)
        with engine.connect() as conn:
            return pd.DataFrame(conn.execute(q).all(), columns=["cell", "n"])
    col = getattr(Comment, f"h3_r{resolution}")
    cond = [Comment.moderation == "published", col.is_not(None), Comment.created_at >= since]
    if category is not None:
        cond.append(Comment.category == category)
    q = select(col.label("cell"), func.count().label("n")).where(*cond).group_by(col).having(func.count() >= min_count)
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(q).all(), columns=["cell", "n"])


def sources(engine: Engine) -> pd.DataFrame:
    q = select(
        Source.id,
        Source.name,
        Source.kind,
        Source.title,
        Source.publisher,
        Source.licence,
        Source.attribution,
        Source.url,
        Source.last_success_at,
        Source.last_error,
        Source.last_error_at,
    )
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(q).all(), columns=[c.name for c in q.selected_columns])


def unmapped_values(engine: Engine) -> pd.DataFrame:
    """Attribute values no mapping names (counted as "other"), from each source's latest successful run:
    columns title, attribute, value, n; most frequent first (issue 21: /about lists them for the data team)."""
    latest = (
        select(RefreshRun.source_id, func.max(RefreshRun.id).label("run_id"))
        .where(RefreshRun.error.is_(None), RefreshRun.finished_at.is_not(None))
        .group_by(RefreshRun.source_id)
        .subquery()
    )
    q = (
        select(Source.title, RefreshRun.unmapped)
        .join(latest, latest.c.source_id == Source.id)
        .join(RefreshRun, RefreshRun.id == latest.c.run_id)
        .where(RefreshRun.unmapped.is_not(None))
    )
    with engine.connect() as conn:
        rows = [
            (title, attr, value, int(n))
            for title, unmapped in conn.execute(q).all()
            for attr, values in (unmapped or {}).items()
            for value, n in values.items()
        ]
    return pd.DataFrame(rows, columns=["title", "attribute", "value", "n"]).sort_values(
        ["title", "n"], ascending=[True, False]
    )


# Metrics drawn for each layer, first one is the layer's headline.
LAYER_METRICS = {
    "air_station": ["pm25", "pm10", "no2"],
    "traffic_counter": ["vehicles"],
    "cycle_counter": ["cyclists"],
    "bike_station": ["bikes_available", "docks_available"],
}


def comment_times(engine: Engine, since: datetime) -> pd.DataFrame:
    """Creation and first-answer times of published comments created since ``since``."""
    q = select(Comment.created_at, Comment.first_response_at).where(
        Comment.moderation == "published", Comment.created_at >= since
    )
    with engine.connect() as conn:
        df = pd.DataFrame(conn.execute(q).all(), columns=["created_at", "first_response_at"])
    for c in df.columns:
        df[c] = pd.to_datetime(df[c])
    return df


def feature(engine: Engine, feature_id: int) -> dict | None:
    q = (
        select(
            Feature.id,
            Feature.layer,
            Feature.name,
            Feature.properties,
            Feature.lat,
            Feature.lon,
            Feature.district_id,
            Source.title.label("source_title"),
            Source.licence,
            Source.attribution,
            Source.publisher,
        )
        .join(Source, Source.id == Feature.source_id)
        .where(Feature.id == feature_id)
    )
    with engine.connect() as conn:
        row = conn.execute(q).first()
    return dict(row._mapping) if row else None


def linked_comments(engine: Engine, feature_id: int, limit: int = 20) -> pd.DataFrame:
    """Published comments linked to a feature, newest first, public fields only."""
    q = (
        select(Comment.id, Comment.created_at, Comment.category, Comment.text, Comment.status)
        .where(Comment.feature_id == feature_id, Comment.moderation == "published")
        .order_by(Comment.created_at.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(q).all(), columns=["id", "created_at", "category", "text", "status"])


def observations_by_district(
    engine: Engine,
    metric: str,
    since: datetime,
    until: datetime | None = None,
    layer: str | None = None,
    resolution: str = "raw",
) -> pd.DataFrame:
    """Observations with their feature's district: feature_id, district_id, time, value; at another
    ``resolution`` than "raw", each feature's means per bucket from the rollups (also n, low, high)."""
    if resolution != "raw":
        return rollups.read(engine, metric, resolution, since, until, layer=layer)
    cond = [Observation.metric == metric, Observation.time >= since, Feature.outside.is_(False)]
    if until is not None:
        cond.append(Observation.time <= until)
    if layer:
        cond.append(Feature.layer == layer)
    q = (
        select(Observation.feature_id, Feature.district_id, Observation.time, Observation.value)
        .join(Feature, Feature.id == Observation.feature_id)
        .where(and_(*cond))
    )
    with engine.connect() as conn:
        df = pd.DataFrame(conn.execute(q).all(), columns=["feature_id", "district_id", "time", "value"])
    df["time"] = pd.to_datetime(df["time"])
    return df


def comments_per_district(engine: Engine, since: datetime | None = None) -> pd.Series:
    """Published comments per district id (optionally created since ``since``)."""
    q = select(Comment.district_id, func.count()).where(
        Comment.moderation == "published", Comment.district_id.is_not(None)
    )
    if since is not None:
        q = q.where(Comment.created_at >= since)
    with engine.connect() as conn:
        rows = conn.execute(q.group_by(Comment.district_id)).all()
    return pd.Series({int(d): int(n) for d, n in rows}, dtype=float)


def layer_sources(engine: Engine, layer: str) -> pd.DataFrame:
    """The sources that provide features of ``layer``, with their licence and status."""
    ids = select(Feature.source_id).where(Feature.layer == layer).distinct()
    s = sources(engine)
    with engine.connect() as conn:
        wanted = set(conn.scalars(ids).all())
    return s[s["id"].isin(wanted)]


def layer_source_names(engine: Engine, layers: list[str]) -> set[str]:
    """The names of the sources that provide features of any of ``layers``."""
    q = select(Source.name).join(Feature, Feature.source_id == Source.id).where(Feature.layer.in_(layers)).distinct()
    with engine.connect() as conn:
        return set(conn.scalars(q).all())
