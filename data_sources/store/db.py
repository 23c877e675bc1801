"""The store: one SQLAlchemy engine over SQLite (embedded default) or PostgreSQL (scale-out).

Connectors write through ``upsert_*``; the dashboard reads through ``data_sources.store.queries``. Loading the same
payload twice adds nothing: features upsert on (source, external id), observations insert-or-ignore on
(feature, metric, time).
"""

from __future__ import annotations

import json
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

import h3
import numpy as np
import pandas as pd
import shapely
from cachetools import TTLCache, cached
from sqlalchemy import Engine, bindparam, create_engine, event, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DisconnectionError
from tqdm import tqdm

from data_sources.ingest.types import SourceMeta
from data_sources.store.footprint import Footprint
from data_sources.store.models import H3_RESOLUTIONS, District, Feature, Observation, RefreshRun, Source
from data_sources.store.partitions import ensure_months
from data_sources.store.rollups import insert_and_merge_sql, merge_new, newest_id

if TYPE_CHECKING:  # geopandas is heavy: only the connectors need it at run time
    import geopandas as gpd

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_CHUNK = 20_000


def utcnow() -> datetime:
    """Naive UTC, the store's convention."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def parse_utc(text: str, tz: str = "UTC") -> datetime:
    """An ISO 8601 / W3C time as the store's naive UTC; a time without an offset is taken in ``tz``.
    Raises ValueError when unreadable."""
    from zoneinfo import ZoneInfo

    dt = datetime.fromisoformat(text.strip())
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ZoneInfo(tz))
    return dt.astimezone(timezone.utc).replace(tzinfo=None)


def utc_iso(dt: datetime | None) -> str | None:
    """A stored (naive UTC) time as ISO 8601 with Z, to the second."""
    return None if dt is None else dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def make_engine(url: str, prepared_statements: bool = True) -> Engine:
    """An engine over ``url``. ``prepared_statements=False`` when PostgreSQL is reached through a pooler in
    transaction mode (PgBouncer before 1.21): psycopg then never prepares statements on the server, where the next
    transaction, on another server connection, would not find them."""
    if url.startswith("sqlite"):
        path = url.split("sqlite:///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            # WAL: readers never block the writer; NORMAL sync is durable across app crashes in WAL mode.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    connect_args: dict[str, Any] = {} if prepared_statements else {"prepare_threshold": None}
    engine = create_engine(url, pool_size=5, max_overflow=10, connect_args=connect_args)
    _ping_when_idle(engine)
    return engine


PING_IDLE_S = 1.0  # a pooled connection unused for longer than this is checked before it is handed out


def _ping_when_idle(engine: Engine) -> None:
    """SQLAlchemy's pool_pre_ping, for connections that sat idle: a server restart is noticed before a request
    uses a dead connection, without a round trip before each of the hundreds of comments a second a busy worker
    stores. A connection that dies while in steady use fails that one request (503, the page and its text stay),
    and SQLAlchemy then replaces every connection of the pool."""

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_conn: Any, record: Any) -> None:
        record.info["citydash_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("citydash_idle_since")
        if since is not None and time.monotonic() - since > PING_IDLE_S:
            try:
                engine.dialect.do_ping(dbapi_conn)
            except Exception as e:  # whatever the driver raises: the pool connects anew
                raise DisconnectionError(str(e)) from e


def alembic_config(connection: Connection | None = None) -> Any:
    from alembic.config import Config

    cfg = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (default: the newest). Safe to call on every start."""
    from alembic import command

    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def open_store(url: str, prepared_statements: bool = True) -> Engine:
    engine = make_engine(url, prepared_statements)
    migrate(engine)
    return engine


# --- geometry helpers ------------------------------------------------------------------------------------


def h3_cells(lat: float, lon: float) -> dict[str, int | None]:
    """H3 cells at every stored resolution: the finest from the point, the coarser ones as its parents, so that a
    comment's cells nest exactly (counts per cell agree at every resolution, whoever wrote the row)."""
    if lat is None or lon is None or not (math.isfinite(lat) and math.isfinite(lon)):
        return {f"h3_r{r}": None for r in H3_RESOLUTIONS}
    finest = max(H3_RESOLUTIONS)
    cell = h3.latlng_to_cell(lat, lon, finest)
    return {f"h3_r{r}": h3.str_to_int(cell if r == finest else h3.cell_to_parent(cell, r)) for r in H3_RESOLUTIONS}


def h3_cells_array(lat: np.ndarray, lon: np.ndarray) -> dict[str, np.ndarray]:
    """H3 cells at every stored resolution for many points (finest computed once, parents derived)."""
    finest = max(H3_RESOLUTIONS)
    fine = [h3.latlng_to_cell(a, b, finest) for a, b in zip(lat.tolist(), lon.tolist())]
    out = {f"h3_r{finest}": np.fromiter((h3.str_to_int(c) for c in fine), dtype=np.int64, count=len(fine))}
    for r in H3_RESOLUTIONS:
        if r != finest:
            out[f"h3_r{r}"] = np.fromiter(
                (h3.str_to_int(h3.cell_to_parent(c, r)) for c in fine), dtype=np.int64, count=len(fine)
            )
    return out


def representative_point(geom: Any) -> tuple[float, float]:
    p = geom if geom.geom_type == "Point" else geom.representative_point()
    return float(p.y), float(p.x)


# --- sources and runs ------------------------------------------------------------------------------------


def upsert_source(engine: Engine, name: str, kind: str, meta: SourceMeta | None = None, title: str = "") -> int:
    meta = meta or SourceMeta()
    values = {k: v for k, v in vars(meta).items() if v}
    with engine.begin() as conn:
        sid = conn.scalar(select(Source.id).where(Source.name == name))
        if sid is None:
            sid = conn.execute(
                insert(Source).values(name=name, kind=kind, title=title or name, **values).returning(Source.id)
            ).scalar_one()
        else:
            conn.execute(
                update(Source)
                .where(Source.id == sid)
                .values(kind=kind, **({"title": title} if title else {}), **values)
            )
    return sid


def record_success(engine: Engine, source_id: int, at: datetime | None = None) -> None:
    at = at or utcnow()
    with engine.begin() as conn:
        conn.execute(
            update(Source).where(Source.id == source_id).values(last_success_at=at, last_attempt_at=at, last_error=None)
        )


def record_failure(engine: Engine, source_id: int, error: str, at: datetime | None = None) -> None:
    at = at or utcnow()
    with engine.begin() as conn:
        conn.execute(
            update(Source).where(Source.id == source_id).values(last_error=error, last_error_at=at, last_attempt_at=at)
        )


def start_run(engine: Engine, source_id: int) -> int:
    with engine.begin() as conn:
        return conn.execute(
            insert(RefreshRun).values(source_id=source_id, started_at=utcnow()).returning(RefreshRun.id)
        ).scalar_one()


def finish_run(
    engine: Engine,
    run_id: int,
    features: int = 0,
    observations: int = 0,
    skipped: int = 0,
    error: str | None = None,
    *,
    rows_read: int | None = None,
    skipped_by_reason: dict[str, int] | None = None,
    unmapped: dict[str, dict[str, int]] | None = None,
) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(RefreshRun)
            .where(RefreshRun.id == run_id)
            .values(
                finished_at=utcnow(),
                features_added=features,
                observations_added=observations,
                skipped=skipped,
                error=error,
                rows_read=rows_read,
                skipped_by_reason=skipped_by_reason or None,
                unmapped=unmapped or None,
            )
        )


# --- dialect-neutral bulk upserts -------------------------------------------------------------------------


def _insert_stmt(conn: Connection, table: Any) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(table)


def _chunks(rows: list[dict], size: int = _CHUNK) -> Iterable[list[dict]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


def upsert_features(
    engine: Engine, source_id: int, features: gpd.GeoDataFrame | None, footprint: Footprint | None = None
) -> _IdMap:
    """Insert or update features of one source. ``features``: GeoDataFrame with external_id, layer, name,
    properties, geometry (EPSG:4326). ``footprint``: the city's (data_sources.store.footprint); features that do not
    touch it are stored with ``outside`` set (None: none is outside). Returns {external_id: feature id} and sets
    ``.added`` (features new to the store) and ``.outside`` (features of this batch outside) on the dict."""
    if features is None or len(features) == 0:
        return _IdMap()
    gdf = features.to_crs("EPSG:4326") if features.crs and features.crs.to_epsg() != 4326 else features
    now = utcnow()
    rows = []
    kept = [g is not None and not g.is_empty for g in gdf.geometry]
    geoms = [g for g, k in zip(gdf.geometry, kept) if k]
    outside = iter(footprint.outside(geoms) if footprint is not None else np.zeros(len(geoms), dtype=bool))
    for rec, geom in zip(gdf.drop(columns="geometry").to_dict("records"), gdf.geometry):
        if geom is None or geom.is_empty:
            continue
        lat, lon = representative_point(geom)
        props = rec.get("properties") or {}
        rows.append(
            {
                "source_id": source_id,
                "layer": rec["layer"],
                "external_id": str(rec["external_id"]),
                "name": str(rec.get("name") or "")[:300],
                "geometry": shapely.to_geojson(geom),
                "lat": lat,
                "lon": lon,
                **h3_cells(lat, lon),
                "properties": json.loads(json.dumps(props, default=str)),
                "updated_at": now,
                "outside": bool(next(outside)),
            }
        )
    with engine.begin() as conn:
        before = conn.scalar(select(func.count()).select_from(Feature).where(Feature.source_id == source_id))
        for chunk in _chunks(rows):
            stmt = _insert_stmt(conn, Feature.__table__)
            stmt = stmt.on_conflict_do_update(
                index_elements=["source_id", "external_id"],
                set_={
                    c: stmt.excluded[c]
                    for c in (
                        "layer",
                        "name",
                        "geometry",
                        "lat",
                        "lon",
                        "properties",
                        "updated_at",
                        "outside",
                        *[f"h3_r{r}" for r in H3_RESOLUTIONS],
                    )
                },
            )
            conn.execute(stmt, chunk)
        after = conn.scalar(select(func.count()).select_from(Feature).where(Feature.source_id == source_id))
        result = dict(conn.execute(select(Feature.external_id, Feature.id).where(Feature.source_id == source_id)).all())
    ids = _IdMap(result)
    ids.added = after - before
    ids.outside = sum(1 for r in rows if r["outside"])
    return ids


class _IdMap(dict):
    added: int = 0
    outside: int = 0


def observation_frame(feature_ids: dict[str, int], observations: pd.DataFrame) -> pd.DataFrame:
    """The rows ``upsert_observations`` writes: feature_id, time (naive UTC, to the second), metric, value, unit;
    rows of unknown features or without a finite value dropped, one row per (feature, metric, time), in
    (metric, time) order."""
    df = observations
    fid = df["external_id"].astype(str).map(feature_ids)
    t = pd.to_datetime(df["time"], utc=True).dt.tz_localize(None)
    value = pd.to_numeric(df["value"], errors="coerce")
    ok = fid.notna() & t.notna() & np.isfinite(value)
    frame = pd.DataFrame(
        {
            "feature_id": fid[ok].astype("int64"),
            "time": t[ok].dt.floor("s"),
            "metric": df["metric"][ok].astype(str),
            "value": value[ok].astype(float),
            "unit": df["unit"][ok].astype(str),
        }
    ).drop_duplicates(["feature_id", "metric", "time"])
    # In (metric, time) order, ix_observations_metric_time grows at its end instead of everywhere: on SQLite this
    # halves the insert time of a large batch (and on PostgreSQL each month's rows arrive together).
    return frame.sort_values(["metric", "time"], kind="stable").reset_index(drop=True)


def upsert_observations(
    engine: Engine, feature_ids: dict[str, int], observations: pd.DataFrame, *, progress: bool = False
) -> int:
    """Insert observations, ignoring any (feature, metric, time) already stored, and add the rows inserted to
    their days' and months' rollups (data_sources/store/rollups.py) in the same transaction. Returns rows added.

    ``observations``: external_id, time (tz-aware or naive UTC), metric, value, unit. Rows whose feature is
    unknown or whose value is not a finite number are dropped. PostgreSQL: COPY into a staging table, then one
    INSERT ... ON CONFLICT DO NOTHING per batch that also merges its inserted rows into the rollups, the months'
    partitions created first. SQLite: one executemany of plain tuples on the driver's connection, then the
    rollups merged, in one transaction. ``progress``: a tqdm bar (command line).
    """
    if observations is None or len(observations) == 0:
        return 0
    frame = observation_frame(feature_ids, observations)
    if len(frame) == 0:
        return 0
    if engine.dialect.name == "postgresql":
        ensure_months(engine, np.unique(frame["time"].to_numpy().astype("datetime64[M]")).astype(object).tolist())
        added = _copy_observations(engine, frame, progress)
    else:
        added = _insert_observations(engine, frame, progress)
    return added


_COPY_BATCH = 250_000  # rows per COPY + INSERT ... SELECT: bounded staging table, and a bar that moves


def _copy_observations(engine: Engine, frame: pd.DataFrame, progress: bool) -> int:
    """PostgreSQL: COPY (CSV) into a temporary staging table, then INSERT ... SELECT ... ON CONFLICT DO NOTHING
    whose inserted rows are merged into the rollups in the same statement, batch by batch in one transaction. The
    next batch's CSV is written by a thread while the server inserts the current one (psycopg waits for the
    server without holding the GIL), so the client's formatting costs no time on two cores. The staging table is
    dropped at commit (no session state is left behind, so this works through PgBouncer in transaction mode)."""
    added = 0
    batches = [frame.iloc[i : i + _COPY_BATCH] for i in range(0, len(frame), _COPY_BATCH)]
    with (
        engine.begin() as conn,
        tqdm(total=len(frame), unit="obs", desc="observations", disable=not progress) as bar,
        ThreadPoolExecutor(max_workers=1) as writer,
    ):
        raw = conn.connection.driver_connection
        with raw.cursor() as cur:
            cur.execute(
                "CREATE TEMPORARY TABLE observations_staging (feature_id integer, time timestamp, "
                "metric varchar(50), value double precision, unit varchar(30)) ON COMMIT DROP"
            )
            upcoming = writer.submit(_csv, batches[0])
            for n, batch in enumerate(batches):
                text = upcoming.result()
                with cur.copy(
                    "COPY observations_staging (feature_id, time, metric, value, unit) FROM STDIN "
                    "(FORMAT csv, FORCE_NOT_NULL (metric, unit))"
                ) as copy:
                    copy.write(text)
                if n + 1 < len(batches):
                    upcoming = writer.submit(_csv, batches[n + 1])
                cur.execute(insert_and_merge_sql("observations_staging"))
                row = cur.fetchone()
                added += int(row[0]) if row else 0
                cur.execute("TRUNCATE observations_staging")
                bar.update(len(batch))
    return added


def _csv(batch: pd.DataFrame) -> str:
    """A batch of observation_frame's rows as COPY's CSV (times as naive UTC)."""
    return batch.to_csv(index=False, header=False, date_format="%Y-%m-%d %H:%M:%S")


_SQLITE_BATCH = 100_000  # rows per executemany call (the bar's step); all in one transaction


def _insert_observations(engine: Engine, frame: pd.DataFrame, progress: bool) -> int:
    """SQLite: plain tuples straight to the driver's executemany, in one transaction (SQLAlchemy's per-row
    parameter processing cost more than the inserts themselves), then the rows inserted merged into the rollups.
    Times are bound exactly as the column type would bind them."""
    added = 0
    with engine.begin() as conn, tqdm(total=len(frame), unit="obs", desc="observations", disable=not progress) as bar:
        stmt = _insert_stmt(conn, Observation.__table__).values(
            {c: bindparam(c) for c in ("feature_id", "time", "metric", "value", "unit")}
        )
        sql = stmt.on_conflict_do_nothing(index_elements=["feature_id", "metric", "time"]).compile(
            dialect=conn.dialect, compile_kwargs={"render_postcompile": True}
        )
        values = {
            "feature_id": frame["feature_id"].tolist(),
            "time": _bind_times(conn, frame["time"]),
            "metric": frame["metric"].tolist(),
            "value": frame["value"].tolist(),
            "unit": frame["unit"].tolist(),
        }
        order = sql.positiontup or ("feature_id", "time", "metric", "value", "unit")
        rows = list(zip(*(values[c] for c in order)))
        raw = conn.connection.driver_connection
        cur = raw.cursor()
        cache = cur.execute("PRAGMA cache_size").fetchone()[0]
        # A 128 MB page cache while importing: the unique index of a large table stays in memory. The pooled
        # connection gets its own size back afterwards.
        cur.execute("PRAGMA cache_size=-131072")
        try:
            # The write transaction starts now, not at the first INSERT: no other writer can add rows between
            # this largest id and ours (the rollups count the rows above it as this import's).
            if not raw.in_transaction:
                cur.execute("BEGIN IMMEDIATE")
            before_id = newest_id(conn)
            for i in range(0, len(rows), _SQLITE_BATCH):
                cur.executemany(sql.string, rows[i : i + _SQLITE_BATCH])
                added += max(cur.rowcount, 0)
                bar.update(min(_SQLITE_BATCH, len(rows) - i))
        finally:
            cur.execute(f"PRAGMA cache_size={int(cache)}")
            cur.close()
        merge_new(conn, frame, added, before_id)
    return added


def _bind_times(conn: Connection, times: pd.Series) -> list:
    """Naive UTC times as the ``time`` column's type binds them on this dialect (text on SQLite, datetime on
    PostgreSQL), computed for the whole column at once."""
    us = times.to_numpy().astype("datetime64[us]")
    time_type = Observation.__table__.c.time.type
    process = time_type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    if process is None or len(times) == 0:
        return us.astype(object).tolist()
    # "2024-01-15T08:00:00.000000" -> "2024-01-15 08:00:00.000000" (string slicing beats numpy's char functions)
    text = [s[:10] + " " + s[11:] for s in np.datetime_as_string(us, unit="us").tolist()]
    if process(us[0].astype(object)) != text[0]:  # a storage format other than SQLAlchemy's default: row by row
        return [process(v) for v in us.astype(object)]
    return text


def replace_districts(engine: Engine, districts: Any) -> int:
    """Load district polygons (GeoDataFrame with name, code, population, geometry), upserting by name."""
    gdf = districts.to_crs("EPSG:4326")
    area = gdf.to_crs(gdf.estimate_utm_crs()).area / 1e6 if len(gdf) else []
    rows = []
    for (_, rec), a in zip(gdf.iterrows(), area):
        lat, lon = representative_point(rec.geometry)
        pop = rec.get("population")
        rows.append(
            {
                "name": str(rec["name"]),
                "code": None if pd.isna(rec.get("code")) else str(rec.get("code")),
                "population": None if pop is None or pd.isna(pop) else int(pop),
                "area_km2": float(a),
                "geometry": shapely.to_geojson(rec.geometry),
                "lat": lat,
                "lon": lon,
            }
        )
    forget_districts(engine)
    with engine.begin() as conn:
        for chunk in _chunks(rows):
            stmt = _insert_stmt(conn, District.__table__)
            stmt = stmt.on_conflict_do_update(
                index_elements=["name"],
                set_={c: stmt.excluded[c] for c in ("code", "population", "area_km2", "geometry", "lat", "lon")},
            )
            conn.execute(stmt, chunk)
    return len(rows)


# Every comment needs the district index, and district outlines change once in years: each process keeps the
# index of each store for LOCATOR_TTL seconds (replace_districts drops its own copy at once; another process that
# replaces them is seen within LOCATOR_TTL).
LOCATOR_TTL = 60.0


def store_key(engine: Engine) -> str:
    """Which store an engine reaches (its URL without the password): the key of per-process caches."""
    return engine.url.render_as_string()


def forget_districts(engine: Engine) -> None:
    with district_locator.cache_lock:
        district_locator.cache.pop(store_key(engine), None)


@cached(TTLCache(maxsize=32, ttl=LOCATOR_TTL), key=store_key, lock=threading.Lock())
def district_locator(engine: Engine) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A function (lat array, lon array) -> district ids (0 where outside every district)."""
    with engine.connect() as conn:
        d = conn.execute(select(District.id, District.geometry)).all()
    ids = np.array([r[0] for r in d], dtype=np.int64)
    tree = shapely.STRtree(shapely.from_geojson([r[1] for r in d])) if d else None

    def locate(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        out = np.zeros(len(lat), dtype=np.int64)
        if tree is None or len(lat) == 0:
            return out
        pts = shapely.points(np.asarray(lon, float), np.asarray(lat, float))
        pi, di = tree.query(pts, predicate="intersects")
        out[pi] = ids[di]
        return out

    return locate


def cell_districts(locate: Callable[[np.ndarray, np.ndarray], np.ndarray], cells: list[int]) -> np.ndarray:
    """District ids for whole H3 cells (0 where none): the district of the cell's centre, else of its first vertex
    (in H3's order) that lies in one. A function of the cell alone, never of a point inside it: a comment's public
    district must not tell which side of a boundary crossing its public cell the exact point lies on."""
    if not len(cells):
        return np.zeros(0, dtype=np.int64)
    names = [h3.int_to_str(int(c)) for c in cells]
    centres = np.array([h3.cell_to_latlng(n) for n in names], dtype=float)
    out = locate(centres[:, 0], centres[:, 1])
    for i in np.flatnonzero(out == 0):
        ring = np.array(h3.cell_to_boundary(names[i]), dtype=float)
        found = locate(ring[:, 0], ring[:, 1])
        out[i] = next((int(d) for d in found if d), 0)
    return out


def assign_districts(engine: Engine, table: type = Feature) -> int:
    """Set district_id on rows of ``table`` (features or comments) that have none, by point-in-polygon. Comments
    get the district of their public cell (``cell_districts``), never of their exact point."""
    from sqlalchemy import bindparam

    forget_districts(engine)  # a fresh index: this runs right after districts change
    locate = district_locator(engine)
    is_comment = getattr(table, "__tablename__", "") == "comments"
    cols = (table.id, table.h3_r9) if is_comment else (table.id, table.lat, table.lon)
    with engine.connect() as conn:
        pts = conn.execute(select(*cols).where(table.district_id.is_(None))).all()
    if not pts:
        return 0
    if is_comment:
        pts = [p for p in pts if p[1]]
        found = cell_districts(locate, [int(p[1]) for p in pts])
    else:
        arr = np.array([(p[1], p[2]) for p in pts], dtype=float)
        found = locate(arr[:, 0], arr[:, 1])
    rows = [{"_id": int(p[0]), "_d": int(d)} for p, d in zip(pts, found) if d]
    t = table.__table__
    with engine.begin() as conn:
        for chunk in _chunks(rows):
            conn.execute(update(t).where(t.c.id == bindparam("_id")).values(district_id=bindparam("_d")), chunk)
    return len(rows)
