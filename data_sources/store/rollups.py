"""Rollups: count, sum, min and max of each feature's readings of each metric per hour, day and month
(``observation_rollups``), so that a page or ``/api/v1`` over months or years reads a few rows per feature.

Kept incrementally: ``upsert_observations`` calls ``refresh_rollups`` with the buckets its batch touched, and only
those are recomputed - hours from the readings, then their days from the hours, then their months from the days.
Late data that lands in an old hour recomputes that hour, its day and its month; a re-import that adds nothing
recomputes nothing (and would recompute the same values). ``rebuild_rollups`` (``citydash rollups --rebuild``) recomputes everything.

Buckets are UTC (the store's convention), each named by its first instant. No percentile is stored: the pages'
medians are across stations (of each station's bucket mean), computed when read; the only within-bucket
percentiles (the "usual range" ribbon) are drawn at hourly resolution from the readings themselves.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, Engine, Select, and_, delete, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import QueryableAttribute, aliased

from data_sources.store.models import Feature, Observation, ObservationRollup

RESOLUTIONS = ("hour", "day", "month")
# Which resolution a range is read at (``pick_resolution``): the readings up to two weeks, daily means up to a
# year, monthly means beyond.
RAW_UP_TO = timedelta(days=14)
DAILY_UP_TO = timedelta(days=366)
# Touched buckets closer than this are recomputed in one statement (the few untouched ones between cost less than
# another round trip).
_MERGE_GAP = {"hour": timedelta(hours=24), "day": timedelta(days=31), "month": timedelta(days=366)}
# Above this many touched features a statement recomputes every feature of the range (a long IN list costs more).
_MAX_IN = 500
# Above this many touched features, SQLite reads the range by time and filters features (see ``_recompute``).
_FEW = 10
_SQLITE_FORMAT = {
    "hour": "%Y-%m-%d %H:00:00.000000",
    "day": "%Y-%m-%d 00:00:00.000000",
    "month": "%Y-%m-01 00:00:00.000000",
}


def pick_resolution(since: datetime | None, until: datetime | None) -> str:
    """The coarsest resolution that still gives enough points for the range: "raw" up to two weeks (or when the
    range is open), "day" up to a year, "month" beyond."""
    if since is None or until is None:
        return "raw"
    span = until - since
    if span <= RAW_UP_TO:
        return "raw"
    return "day" if span <= DAILY_UP_TO else "month"


def floor(times: pd.Series, resolution: str) -> pd.Series:
    """Naive UTC times floored to their bucket's first instant."""
    t = pd.to_datetime(times)
    if resolution == "hour":
        return t.dt.floor("h")
    if resolution == "day":
        return t.dt.floor("D")
    return t.dt.to_period("M").dt.to_timestamp()


def bucket_start(t: datetime, resolution: str) -> datetime:
    """The first instant of the bucket that holds ``t`` (plain datetime arithmetic: any year a query may name)."""
    if resolution == "hour":
        return t.replace(minute=0, second=0, microsecond=0)
    if resolution == "day":
        return t.replace(hour=0, minute=0, second=0, microsecond=0)
    return t.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def bucket_end(start: datetime, resolution: str) -> datetime:
    """The first instant after the bucket that starts at ``start``."""
    if resolution == "hour":
        return start + timedelta(hours=1)
    if resolution == "day":
        return start + timedelta(days=1)
    return (start.replace(day=1) + timedelta(days=32)).replace(day=1)


def bucket_sql(
    dialect: str, resolution: str, column: ColumnElement[datetime] | QueryableAttribute[datetime]
) -> ColumnElement[datetime]:
    """SQL for the first instant of ``column``'s bucket (on SQLite in the text format SQLAlchemy stores, so that
    comparisons with bound datetimes stay exact)."""
    if dialect == "sqlite":
        return func.strftime(_SQLITE_FORMAT[resolution], column)
    return func.date_trunc(resolution, column)


def touched(observations: pd.DataFrame, feature_ids: Mapping[str, int]) -> pd.DataFrame:
    """The hours an import of ``observations`` (external_id, time, metric, ...) may have changed: distinct
    feature_id, metric, hour (naive UTC). Rows whose feature is unknown or time unreadable touch nothing."""
    if observations is None or len(observations) == 0:
        return pd.DataFrame({"feature_id": [], "metric": [], "hour": pd.Series(dtype="datetime64[ns]")})
    fid = observations["external_id"].astype(str).map(feature_ids)
    t = pd.to_datetime(observations["time"], utc=True, errors="coerce").dt.tz_localize(None)
    ok = fid.notna() & t.notna()
    return pd.DataFrame(
        {
            "feature_id": fid[ok].astype("int64"),
            "metric": observations["metric"][ok].astype(str),
            "hour": floor(t[ok], "hour"),
        }
    ).drop_duplicates()


def _runs(buckets: np.ndarray, resolution: str) -> Iterator[tuple[datetime, datetime]]:
    """Sorted distinct bucket starts merged into [start, end) ranges (nearby buckets share one range)."""
    starts = sorted(pd.Timestamp(b).to_pydatetime() for b in buckets)
    lo = hi = None
    for b in starts:
        if lo is not None and hi is not None:
            if b - hi <= _MERGE_GAP[resolution]:
                hi = bucket_end(b, resolution)
                continue
            yield lo, hi
        lo, hi = b, bucket_end(b, resolution)
    if lo is not None and hi is not None:
        yield lo, hi


def _upsert_from(conn: Connection, query: Select) -> None:
    """INSERT the rows of ``query`` into observation_rollups, replacing the values of buckets already there."""
    table = ObservationRollup
    cols = ["resolution", "metric", "bucket", "feature_id", "n", "total", "low", "high"]
    key = ["resolution", "metric", "bucket", "feature_id"]
    if conn.dialect.name == "postgresql":
        pg = postgresql.insert(table).from_select(cols, query)
        conn.execute(pg.on_conflict_do_update(index_elements=key, set_={c: pg.excluded[c] for c in cols[4:]}))
    else:
        lite = sqlite.insert(table).from_select(cols, query)
        conn.execute(lite.on_conflict_do_update(index_elements=key, set_={c: lite.excluded[c] for c in cols[4:]}))


def _recompute(
    conn: Connection,
    resolution: str,
    metric: str | None,
    feature_ids: list[int] | None,
    lo: datetime | None,
    hi: datetime | None,
) -> None:
    """Recompute the ``resolution`` buckets in [lo, hi) (everything when None) of ``metric`` and ``feature_ids``
    (all when None): hours from the readings, days from the hours, months from the days."""
    d = conn.dialect.name
    if resolution == "hour":
        t, fid, met = Observation.time, Observation.feature_id, Observation.metric
        b = bucket_sql(d, "hour", t)
        q = select(
            _literal("hour"),
            met,
            b.label("bucket"),
            fid,
            func.count(),
            func.sum(Observation.value),
            func.min(Observation.value),
            func.max(Observation.value),
        )
        cond: list[ColumnElement[bool]] = []
    else:
        finer = RESOLUTIONS[RESOLUTIONS.index(resolution) - 1]
        r = aliased(ObservationRollup)
        t, fid, met = r.bucket, r.feature_id, r.metric
        b = bucket_sql(d, resolution, t)
        q = select(
            _literal(resolution),
            met,
            b.label("bucket"),
            fid,
            func.sum(r.n),
            func.sum(r.total),
            func.min(r.low),
            func.max(r.high),
        )
        cond = [r.resolution == finer]
    if metric is not None:
        cond.append(met == metric)
    if lo is not None:
        cond.append(t >= lo)
    if hi is not None:
        cond.append(t < hi)
    if feature_ids is not None:
        # SQLite would walk the (feature, ...) index once per feature and fetch rows all over the table; with more
        # than a few features, "+ 0" makes it read the range through the (metric, time) order and filter instead.
        many = d == "sqlite" and len(feature_ids) > _FEW
        cond.append((fid + 0 if many else fid).in_(feature_ids))
    # SQLite reads "INSERT ... SELECT ... ON CONFLICT" right only with a WHERE clause: there is always one here.
    cond.append(fid.is_not(None))
    _upsert_from(conn, q.where(and_(*cond)).group_by(met, b, fid))


def _literal(text: str) -> ColumnElement[str]:
    return literal(text, ObservationRollup.resolution.type)


def refresh_rollups(engine: Engine, hours: pd.DataFrame | None) -> None:
    """Recompute the rollups of the ``hours`` (``touched``: feature_id, metric, hour) an import may have changed:
    those hours, then their days, then their months, in one transaction."""
    if hours is None or len(hours) == 0:
        return
    with engine.begin() as conn:
        for metric, part in hours.groupby("metric"):
            fids = sorted({int(f) for f in part["feature_id"]})
            ids = fids if len(fids) <= _MAX_IN else None
            for resolution in RESOLUTIONS:
                buckets = floor(part["hour"], resolution).drop_duplicates().to_numpy()
                for lo, hi in _runs(buckets, resolution):
                    _recompute(conn, resolution, str(metric), ids, lo, hi)


def rebuild_rollups(engine: Engine) -> int:
    """Recompute every rollup from the stored readings (``citydash rollups --rebuild``). Returns the rollup rows."""
    with engine.begin() as conn:
        conn.execute(delete(ObservationRollup))
        for resolution in RESOLUTIONS:
            _recompute(conn, resolution, None, None, None, None)
        return int(conn.scalar(select(func.count()).select_from(ObservationRollup)) or 0)


def read(
    engine: Engine,
    metric: str,
    resolution: str,
    since: datetime,
    until: datetime | None = None,
    feature_ids: list[int] | None = None,
    layer: str | None = None,
) -> pd.DataFrame:
    """The ``resolution`` rollups of ``metric`` whose bucket overlaps [since, until], for features inside the
    city's footprint: feature_id, district_id, time (the bucket's first instant), value (the feature's mean over
    the bucket), n (readings), low, high. A bucket that starts before ``since`` counts whole."""
    r = ObservationRollup
    start = bucket_start(since, resolution)
    cond = [r.resolution == resolution, r.metric == metric, r.bucket >= start, Feature.outside.is_(False)]
    if until is not None:
        cond.append(r.bucket <= until)
    if feature_ids is not None:
        cond.append(r.feature_id.in_(feature_ids))
    if layer:
        cond.append(Feature.layer == layer)
    q = (
        select(r.feature_id, Feature.district_id, r.bucket, r.total / r.n, r.n, r.low, r.high)
        .join(Feature, Feature.id == r.feature_id)
        .where(and_(*cond))
    )
    cols = ["feature_id", "district_id", "time", "value", "n", "low", "high"]
    with engine.connect() as conn:
        df = pd.DataFrame(conn.execute(q).all(), columns=cols)
    df["time"] = pd.to_datetime(df["time"])
    return df


def per_feature(obs: pd.DataFrame) -> pd.DataFrame:
    """Mean, max and count of readings per feature over a period, from readings (feature_id, value) or from
    rollups (also n, high): feature_id, mean, max, count. Rollup means are weighted by their readings."""
    if "n" not in obs.columns:
        return obs.groupby("feature_id")["value"].agg(["mean", "max", "count"]).reset_index()
    w = obs.assign(total=obs["value"] * obs["n"]).groupby("feature_id")
    out = pd.DataFrame({"total": w["total"].sum(), "max": w["high"].max(), "count": w["n"].sum()})
    out["mean"] = out["total"] / out["count"]
    return out.reset_index()[["feature_id", "mean", "max", "count"]]
