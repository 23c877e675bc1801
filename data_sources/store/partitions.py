"""PostgreSQL: the observations table partitioned by month (migration 0801), and the retention of old months.

On PostgreSQL ``observations`` is partitioned by range on ``time``: one table per calendar month (UTC),
``observations_YYYYMM``, plus ``observations_default`` that takes any row whose month has no partition yet, so
that no insert is ever refused. Months are created ahead by the refresh worker (``maintain_observations``) and by
``upsert_observations`` for the months it is about to write. Creating a month whose rows already sit in the
default partition moves them into the new month first, in the same transaction.

Retention (``CITYDASH_OBSERVATIONS_RETENTION_MONTHS``; unset keeps everything): whole months older than the
current month minus N are detached and dropped. On SQLite, which has no partitions, the same setting deletes the
rows older than the same cut-off. Either way the readings' hourly aggregates are kept first as hour rollups
(``rollups.archive_hours``; their days and months are kept already), so long views outlive the readings; and with
``CITYDASH_OBSERVATIONS_ARCHIVE_DIR`` set, the readings themselves are written first to one gzip CSV per month in
that folder (``archive_readings``), in the same transaction: if the archive cannot be written, nothing is removed.
"""

from __future__ import annotations

import csv
import gzip
import os
import re
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine, delete, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from data_sources.store.models import Observation
from data_sources.store.rollups import archive_hours

PARENT = "observations"
DEFAULT_PARTITION = "observations_default"
MONTHS_AHEAD = 3  # the refresh worker keeps this many months after the current one ready
_MONTH_NAME = re.compile(r"^observations_(\d{4})(\d{2})$")
# pg_advisory_xact_lock key: one process at a time creates or drops months (importers, the refresh worker).
_LOCK_KEY = 0x63697479_0801
LOCK_TIMEOUT_MS = 3000  # the longest a partition change waits for the observations table (then it tries later)


def month_start(t: datetime | date) -> date:
    """The first day of ``t``'s month."""
    return date(t.year, t.month, 1)


def add_months(month: date, n: int) -> date:
    """``month`` (a first day) moved by ``n`` months."""
    i = month.year * 12 + month.month - 1 + n
    return date(i // 12, i % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"observations_{month.year:04d}{month.month:02d}"


def is_partitioned(conn: Connection) -> bool:
    """Whether this store's observations table is partitioned (PostgreSQL after migration 0801)."""
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.execute(
        text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:t)"), {"t": PARENT}
    ).scalar_one_or_none()
    return kind == "p"


def existing_months(conn: Connection) -> set[date]:
    """The months that have their own partition."""
    names = conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(:t)"
        ),
        {"t": PARENT},
    ).scalars()
    out = set()
    for name in names:
        m = _MONTH_NAME.match(name)
        if m:
            out.add(date(int(m.group(1)), int(m.group(2)), 1))
    return out


def create_month(conn: Connection, month: date) -> None:
    """Create the partition of ``month`` (a first day), moving its rows out of the default partition if any
    are there. Call inside a transaction that holds the partition lock (``ensure_months``)."""
    name, lo, hi = partition_name(month), month.isoformat(), add_months(month, 1).isoformat()
    bounds = {"lo": lo, "hi": hi}
    waiting = conn.execute(
        text(f"SELECT 1 FROM {DEFAULT_PARTITION} WHERE time >= :lo AND time < :hi LIMIT 1"), bounds
    ).first()
    if waiting is None:
        conn.exec_driver_sql(f"CREATE TABLE {name} PARTITION OF {PARENT} FOR VALUES FROM ('{lo}') TO ('{hi}')")
        return
    # Rows of this month arrived before its partition: the new month takes them over from the default partition
    # (PostgreSQL refuses a partition whose rows would still match the default one).
    conn.exec_driver_sql(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS)")
    conn.execute(
        text(
            f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} WHERE time >= :lo AND time < :hi "
            "RETURNING id, feature_id, time, metric, value, unit) "
            f"INSERT INTO {name} (id, feature_id, time, metric, value, unit) SELECT * FROM moved"
        ),
        bounds,
    )
    conn.exec_driver_sql(f"ALTER TABLE {PARENT} ATTACH PARTITION {name} FOR VALUES FROM ('{lo}') TO ('{hi}')")


def ensure_months(engine: Engine, months: Iterable[date]) -> list[date]:
    """Create the partitions of ``months`` (first days) that do not exist yet; returns the months created. A no-op
    on SQLite and on an unpartitioned table. Runs in its own transaction, before the rows are written, so that an
    import's rows go straight to their month."""
    wanted = {month_start(m) for m in months}
    if engine.dialect.name != "postgresql" or not wanted:
        return []
    with engine.connect() as conn:
        if not is_partitioned(conn) or wanted <= existing_months(conn):
            return []
    try:
        with engine.begin() as conn:
            _lock(conn)
            missing = sorted(wanted - existing_months(conn))  # another process may have created some meanwhile
            for month in missing:
                create_month(conn, month)
    except OperationalError as e:
        if not _lock_timed_out(e):
            raise
        return []  # rows of these months wait in the default partition; the next refresh tick tries again
    return missing


def _lock(conn: Connection) -> None:
    """One process at a time changes the partitions, and none waits long for the table's lock: queries that arrive
    while a partition change waits for its lock queue behind it, so a web request must not wait on a long import."""
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_MS}ms'")


def _lock_timed_out(e: OperationalError) -> bool:
    return getattr(e.orig, "sqlstate", None) == "55P03"  # lock_not_available


ARCHIVE_COLUMNS = ("feature_id", "time", "metric", "value", "unit")  # as the data package's observations resource


def archive_readings(conn: Connection, limit: datetime, folder: str | Path) -> list[str]:
    """Write every reading older than ``limit`` to ``folder`` (created if need be), one gzip CSV per UTC month:
    ``observations-YYYY-MM.csv.gz`` with the columns of the data package's observations resource (feature_id,
    time as ISO 8601 UTC, metric, value, unit). A month archived before (a late reading removed later) gets the
    next free name, ``observations-YYYY-MM.2.csv.gz``: an archive is never overwritten. Each file is written
    under a temporary name and renamed when complete. Returns the file names written."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    o = Observation
    q = select(o.feature_id, o.time, o.metric, o.value, o.unit).where(o.time < limit).order_by(o.time)
    written: list[str] = []
    month: tuple[int, int] | None = None
    handle: IO[str] | None = None
    writer: Any = None
    part: Path | None = None

    def close() -> None:
        if handle is not None and part is not None:
            handle.close()
            final = _free_name(out, month)
            os.replace(part, final)
            written.append(final.name)

    try:
        for fid, t, metric, value, unit in conn.execute(q.execution_options(stream_results=True, yield_per=50_000)):
            if (t.year, t.month) != month:
                close()
                month = (t.year, t.month)
                part = out / f".observations-{t.year:04d}-{t.month:02d}.csv.gz.part"
                handle = gzip.open(part, "wt", newline="", encoding="utf-8")
                writer = csv.writer(handle, lineterminator="\n")
                writer.writerow(ARCHIVE_COLUMNS)
            writer.writerow((fid, t.strftime("%Y-%m-%dT%H:%M:%SZ"), metric, repr(float(value)), unit))
        close()
    except BaseException:  # nothing half-done stays: the caller's transaction rolls back and keeps the rows
        if handle is not None and part is not None:
            handle.close()
            part.unlink(missing_ok=True)
        for name in written:
            (out / name).unlink(missing_ok=True)
        raise
    return written


def _free_name(folder: Path, month: tuple[int, int] | None) -> Path:
    y, m = month or (0, 0)
    path, n = folder / f"observations-{y:04d}-{m:02d}.csv.gz", 1
    while path.exists():
        n += 1
        path = folder / f"observations-{y:04d}-{m:02d}.{n}.csv.gz"
    return path


def drop_months_before(engine: Engine, cutoff: date, archive_dir: str | Path | None = None) -> dict[str, Any]:
    """Remove every observation older than ``cutoff`` (a first day of a month): on partitioned PostgreSQL the
    whole months before it are detached and dropped, and the default partition's older rows deleted; elsewhere
    the rows are deleted. With ``archive_dir``, the readings are written there first (``archive_readings``); the
    tables they are read from are locked against writers meanwhile, so no reading is removed unarchived. Returns
    {"dropped": [partition names], "deleted": rows deleted, "archived": [file names]}, with "postponed" when
    the table stayed locked longer than ``LOCK_TIMEOUT_MS``."""
    limit = datetime(cutoff.year, cutoff.month, 1)
    archived: list[str] = []
    try:
        with engine.begin() as conn:
            if not is_partitioned(conn):
                archive_hours(conn, limit)  # hourly means outlive the readings, as daily and monthly ones do
                if archive_dir:
                    archived = archive_readings(conn, limit, archive_dir)
                deleted = conn.execute(delete(Observation).where(Observation.time < limit)).rowcount
                return {"dropped": [], "deleted": deleted, "archived": archived}
            _lock(conn)
            old = sorted(m for m in existing_months(conn) if add_months(m, 1) <= cutoff)
            if archive_dir:
                for table in [*(partition_name(m) for m in old), DEFAULT_PARTITION]:
                    conn.exec_driver_sql(f"LOCK TABLE {table} IN SHARE MODE")  # readers go on, writers wait
            archive_hours(conn, limit)
            if archive_dir:
                archived = archive_readings(conn, limit, archive_dir)
            for month in old:
                conn.exec_driver_sql(f"ALTER TABLE {PARENT} DETACH PARTITION {partition_name(month)}")
                conn.exec_driver_sql(f"DROP TABLE {partition_name(month)}")
            deleted = conn.execute(
                text(f"DELETE FROM {DEFAULT_PARTITION} WHERE time < :limit"), {"limit": limit}
            ).rowcount
    except BaseException as e:
        for name in archived:  # written, but the rows stay: the next tick archives them again
            Path(archive_dir or ".", name).unlink(missing_ok=True)
        if not (isinstance(e, OperationalError) and _lock_timed_out(e)):
            raise
        return {"dropped": [], "deleted": 0, "archived": [], "postponed": True}
    return {"dropped": [partition_name(m) for m in old], "deleted": deleted, "archived": archived}


def maintain_observations(
    engine: Engine, now: datetime, retention_months: int, archive_dir: str | Path | None = None
) -> dict[str, Any]:
    """The refresh worker's housekeeping: the current month and ``MONTHS_AHEAD`` after it have partitions (on
    partitioned PostgreSQL), and with ``retention_months`` above 0, months before the current one minus that
    many are removed (``drop_months_before``, archived to ``archive_dir`` first when given). Returns what was
    done."""
    this = month_start(now)
    created = ensure_months(engine, [add_months(this, i) for i in range(MONTHS_AHEAD + 1)])
    out: dict[str, Any] = {"created": [partition_name(m) for m in created]}
    if retention_months > 0:
        out.update(drop_months_before(engine, add_months(this, -retention_months), archive_dir))
    return out


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic's filter: the month partitions and the BRIN index exist only on PostgreSQL (migration 0801, not
    in the models, which describe the SQLite and PostgreSQL columns alike), and there observations' foreign key to
    features is kept by statement-level triggers instead (migration 0904)."""
    if type_ == "table" and reflected and compare_to is None and name is not None:
        return not (name == DEFAULT_PARTITION or _MONTH_NAME.match(name))
    if type_ == "index" and reflected and compare_to is None:
        return name != "ix_observations_time_brin"
    if type_ == "foreign_key_constraint" and not reflected and compare_to is None:
        return name != "fk_observations_feature_id_features"
    return True
