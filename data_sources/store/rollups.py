"""Rollups: count, sum, min and max of each feature's readings of each metric per UTC day and month
(``observation_rollups``), so that a page or ``/api/v1`` over months or years reads a few rows per feature.

Kept incrementally by ``upsert_observations``, from the rows an import really inserted and nothing else: count,
sum, min and max add up, so each touched day and month is merged with the batch's own aggregates
(``n = n + new n``, ``low = min(low, new low)``, ...) without reading the readings back. On PostgreSQL this is
part of the import's statement (``insert_and_merge_sql``: the ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` of
the staging table feeds the merge); on SQLite the batch's aggregates come from the DataFrame when every row was
new, else from the rows above the table's largest id before the import (``merge_new``). A re-import that adds
nothing changes nothing; late readings for an old day add to that day and its month.

Hours are not stored while their readings are: "hour" resolution groups the readings by hour when read
(``bucket_rows``). When old readings are removed (``data_sources/store/partitions.py``, retention), their hours are
kept first as hour rows of the same table (``archive_hours``), so that hourly means outlive the readings as daily
and monthly ones do; an hour read adds both up.

Buckets are UTC (the store's convention), each named by its first instant. No percentile is stored: the pages'
medians are across stations (of each station's bucket mean), computed when read; the only within-bucket
percentiles (the "usual range" ribbon) are drawn at hourly resolution from the readings themselves.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import (
    ColumnElement,
    DateTime,
    Engine,
    Integer,
    Select,
    and_,
    cast,
    delete,
    func,
    literal,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import QueryableAttribute, aliased

from data_sources.store.models import Feature, Observation, ObservationRollup

RESOLUTIONS = ("hour", "day", "month")  # what can be read
STORED = ("day", "month")  # what is kept for every reading (hours only once their readings are removed)
# Which resolution a range is read at (``pick_resolution``): the readings up to two weeks, daily means up to a
# year, monthly means beyond.
RAW_UP_TO = timedelta(days=14)
DAILY_UP_TO = timedelta(days=366)
_SQLITE_FORMAT = {
    "hour": "%Y-%m-%d %H:00:00.000000",
    "day": "%Y-%m-%d 00:00:00.000000",
    "month": "%Y-%m-01 00:00:00.000000",
}
_COLS = ("resolution", "metric", "bucket", "feature_id", "n", "total", "low", "high")
_KEY = ["resolution", "metric", "bucket", "feature_id"]


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
    comparisons with bound datetimes stay exact), typed as a datetime."""
    if dialect == "sqlite":
        return type_coerce(func.strftime(_SQLITE_FORMAT[resolution], column), DateTime())
    return type_coerce(func.date_trunc(resolution, column), DateTime())


# --- upkeep on import ------------------------------------------------------------------------------------------


def insert_and_merge_sql(staging: str) -> str:
    """PostgreSQL: one statement that moves the rows of the table ``staging`` (feature_id, time, metric, value,
    unit) into observations, skipping those already stored, and adds the rows it inserted to their days' and
    months' rollups (in key order: two imports that touch the same buckets lock them in the same order, and wait
    for each other instead of deadlocking). It returns one row: how many readings were inserted."""

    def merge(resolution: str) -> str:
        return (
            f"INSERT INTO observation_rollups ({', '.join(_COLS)}) "
            f"SELECT '{resolution}', metric, date_trunc('{resolution}', time), feature_id, count(*), sum(value), "
            "min(value), max(value) FROM inserted GROUP BY 2, 3, 4 ORDER BY 2, 3, 4 "
            f"ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET n = observation_rollups.n + excluded.n, "
            "total = observation_rollups.total + excluded.total, "
            "low = least(observation_rollups.low, excluded.low), high = greatest(observation_rollups.high, excluded.high)"
        )

    return (
        "WITH inserted AS (INSERT INTO observations (feature_id, time, metric, value, unit) "
        f"SELECT feature_id, time, metric, value, unit FROM {staging} "
        "ON CONFLICT (feature_id, metric, time) DO NOTHING RETURNING feature_id, time, metric, value), "
        f"days AS ({merge('day')}), months AS ({merge('month')}) "
        "SELECT count(*) FROM inserted"
    )


def aggregate(frame: pd.DataFrame) -> pd.DataFrame:
    """Daily aggregates of readings (feature_id, time as naive UTC datetime64, metric, value): metric, bucket,
    feature_id, n, total, low, high."""
    part = frame[["metric", "feature_id", "value"]].assign(bucket=floor(frame["time"], "day"))
    g = part.groupby(["metric", "bucket", "feature_id"], sort=False)
    v = g["value"]
    return pd.DataFrame({"n": v.count(), "total": v.sum(), "low": v.min(), "high": v.max()}).reset_index()


def newest_id(conn: Connection) -> int:
    """The largest reading id (0 when none): on SQLite, a row inserted later in the same write transaction has a
    larger one (``merge_new``)."""
    return int(conn.scalar(select(func.max(Observation.id))) or 0)


def merge_new(conn: Connection, frame: pd.DataFrame, added: int, before_id: int) -> None:
    """SQLite, in the import's transaction: add the readings it inserted to their days' and months' rollups. All of
    ``frame`` when ``added`` equals its length; otherwise those with an id above ``before_id`` (``newest_id``
    before the import: SQLite gives new rows larger ids, and holds other writers off until the commit)."""
    if added <= 0:
        return
    if added == len(frame):
        days = aggregate(frame)
    else:
        o = Observation
        b = bucket_sql(conn.dialect.name, "day", o.time)
        q = (
            select(o.metric, b, o.feature_id, func.count(), func.sum(o.value), func.min(o.value), func.max(o.value))
            .where(o.id > before_id)
            .group_by(o.metric, b, o.feature_id)
        )
        days = pd.DataFrame(
            conn.execute(q).all(), columns=["metric", "bucket", "feature_id", "n", "total", "low", "high"]
        )
        days["bucket"] = pd.to_datetime(days["bucket"])
    merge_aggregates(conn, "day", days)
    g = days.assign(bucket=floor(days["bucket"], "month")).groupby(["metric", "bucket", "feature_id"], sort=False)
    months = pd.DataFrame(
        {"n": g["n"].sum(), "total": g["total"].sum(), "low": g["low"].min(), "high": g["high"].max()}
    ).reset_index()
    merge_aggregates(conn, "month", months)


def merge_aggregates(conn: Connection, resolution: str, rows: pd.DataFrame) -> None:
    """Add aggregates (metric, bucket, feature_id, n, total, low, high) of readings not counted yet to the
    ``resolution`` rollups: counts and sums add up, extremes widen; a bucket not there yet is created."""
    if len(rows) == 0:
        return
    stmt = _adding(conn, (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(ObservationRollup))
    values = pd.DataFrame(
        {
            "resolution": resolution,
            "metric": rows["metric"].astype(str),
            "bucket": pd.to_datetime(rows["bucket"]).dt.to_pydatetime(),
            "feature_id": rows["feature_id"].astype(int),
            "n": rows["n"].astype(int),
            "total": rows["total"].astype(float),
            "low": rows["low"].astype(float),
            "high": rows["high"].astype(float),
        }
    )
    records = values.astype(object).to_dict("records")
    for i in range(0, len(records), 20_000):
        conn.execute(stmt, records[i : i + 20_000])


# --- hours of removed readings, rebuild --------------------------------------------------------------------------


def _adding(conn: Connection, stmt: Any) -> Any:
    """``stmt`` (an INSERT into observation_rollups) made to add its values to a bucket already there: counts and
    sums add up, extremes widen."""
    r = ObservationRollup
    pg = conn.dialect.name == "postgresql"
    lower, upper = (func.least, func.greatest) if pg else (func.min, func.max)  # SQLite: min/max of two values
    return stmt.on_conflict_do_update(
        index_elements=_KEY,
        set_={
            "n": r.n + stmt.excluded.n,
            "total": r.total + stmt.excluded.total,
            "low": lower(r.low, stmt.excluded.low),
            "high": upper(r.high, stmt.excluded.high),
        },
    )


def _merge_from(conn: Connection, query: Select) -> None:
    """INSERT the aggregates of ``query`` (in ``_COLS`` order) into observation_rollups, adding them to buckets
    already there."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    conn.execute(_adding(conn, insert(ObservationRollup).from_select(list(_COLS), query)))


def _from_readings(dialect: str, resolution: str, before: datetime | None = None) -> Select:
    """The ``resolution`` aggregates of the stored readings (those before ``before`` when given)."""
    o = Observation
    b = bucket_sql(dialect, resolution, o.time)
    # SQLite reads "INSERT ... SELECT ... ON CONFLICT" right only with a WHERE clause: there is always one here.
    cond = [o.feature_id.is_not(None)] + ([o.time < before] if before is not None else [])
    return (
        select(
            _literal(resolution),
            o.metric,
            b,
            o.feature_id,
            func.count(),
            func.sum(o.value),
            func.min(o.value),
            func.max(o.value),
        )
        .where(and_(*cond))
        .group_by(o.metric, b, o.feature_id)
    )


def _from_rollups(dialect: str, resolution: str, finer: str) -> Select:
    """The ``resolution`` aggregates of the stored ``finer`` rollups."""
    r = aliased(ObservationRollup)
    b = bucket_sql(dialect, resolution, r.bucket)
    return (
        select(
            _literal(resolution),
            r.metric,
            b,
            r.feature_id,
            func.sum(r.n),
            func.sum(r.total),
            func.min(r.low),
            func.max(r.high),
        )
        .where(r.resolution == finer, r.feature_id.is_not(None))
        .group_by(r.metric, b, r.feature_id)
    )


def archive_hours(conn: Connection, before: datetime) -> None:
    """Keep the hourly aggregates of the readings older than ``before`` as hour rollups: call in the transaction
    that removes those readings (retention), before it removes them. Their days and months are already kept."""
    _merge_from(conn, _from_readings(conn.dialect.name, "hour", before))


def _literal(text: str) -> ColumnElement[str]:
    return literal(text, ObservationRollup.resolution.type)


def rebuild_rollups(engine: Engine) -> int:
    """Recompute every day and month rollup from the stored readings and the hours kept of removed ones
    (``citydash rollups --rebuild``). Returns the rollup rows."""
    with engine.begin() as conn:
        d = conn.dialect.name
        conn.execute(delete(ObservationRollup).where(ObservationRollup.resolution.in_(STORED)))
        _merge_from(conn, _from_readings(d, "day"))
        _merge_from(conn, _from_rollups(d, "day", "hour"))  # the hours of removed readings
        _merge_from(conn, _from_rollups(d, "month", "day"))
        return int(conn.scalar(select(func.count()).select_from(ObservationRollup)) or 0)


# --- reads ------------------------------------------------------------------------------------------------------


def bucket_rows(
    dialect: str,
    resolution: str,
    metrics: list[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    feature_ids: list[int] | None = None,
) -> Any:
    """A subquery of the ``resolution`` buckets of ``metrics`` (all when None) that overlap [since, until] (a
    bucket that starts before ``since`` counts whole; open ends when None), of ``feature_ids`` (all when None):
    columns metric, bucket, feature_id, n, total, low, high. Days and months are read from the rollups; hours
    from the readings, grouped, added to the hours kept of removed readings."""
    r = ObservationRollup
    start = None if since is None else bucket_start(since, resolution)

    def rollup_rows(res: str) -> Select:
        cond: list[ColumnElement[bool]] = [r.resolution == res]
        if metrics is not None:
            cond.append(r.metric.in_(metrics))
        if start is not None:
            cond.append(r.bucket >= start)
        if until is not None:
            cond.append(r.bucket <= until)
        if feature_ids is not None:
            cond.append(r.feature_id.in_(feature_ids))
        return select(
            r.metric.label("metric"),
            r.bucket.label("bucket"),
            r.feature_id.label("feature_id"),
            r.n.label("n"),
            r.total.label("total"),
            r.low.label("low"),
            r.high.label("high"),
        ).where(and_(*cond))

    if resolution != "hour":
        return rollup_rows(resolution).subquery()
    o = Observation
    b = bucket_sql(dialect, "hour", o.time)
    where: list[ColumnElement[bool]] = []
    if metrics is not None:
        where.append(o.metric.in_(metrics))
    if start is not None:
        where.append(o.time >= start)
    if until is not None:
        where.append(o.time < bucket_end(bucket_start(until, "hour"), "hour"))
    if feature_ids is not None:
        where.append(o.feature_id.in_(feature_ids))
    readings = (
        select(
            o.metric.label("metric"),
            b.label("bucket"),
            o.feature_id.label("feature_id"),
            func.count().label("n"),
            func.sum(o.value).label("total"),
            func.min(o.value).label("low"),
            func.max(o.value).label("high"),
        )
        .where(*where)
        .group_by(o.metric, b, o.feature_id)
    )
    both = union_all(readings, rollup_rows("hour")).subquery()
    return (
        select(
            both.c.metric,
            type_coerce(both.c.bucket, DateTime()).label("bucket"),
            both.c.feature_id,
            cast(func.sum(both.c.n), Integer).label("n"),  # PostgreSQL's sum of integers is numeric (Decimal)
            func.sum(both.c.total).label("total"),
            func.min(both.c.low).label("low"),
            func.max(both.c.high).label("high"),
        )
        .group_by(both.c.metric, both.c.bucket, both.c.feature_id)
        .subquery()
    )


def read(
    engine: Engine,
    metric: str,
    resolution: str,
    since: datetime,
    until: datetime | None = None,
    feature_ids: list[int] | None = None,
    layer: str | None = None,
) -> pd.DataFrame:
    """The ``resolution`` buckets of ``metric`` that overlap [since, until], for features inside the city's
    footprint: feature_id, district_id, time (the bucket's first instant), value (the feature's mean over the
    bucket), n (readings), low, high. A bucket that starts before ``since`` counts whole."""
    b = bucket_rows(engine.dialect.name, resolution, [metric], since, until, feature_ids)
    cond: list[ColumnElement[bool]] = [Feature.outside.is_(False)]
    if layer:
        cond.append(Feature.layer == layer)
    q = (
        select(b.c.feature_id, Feature.district_id, b.c.bucket, b.c.total / b.c.n, b.c.n, b.c.low, b.c.high)
        .join(Feature, Feature.id == b.c.feature_id)
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
