"""Running the store in production: start-up under a lock, reachability, a cheap data version, backup and restore.

Many gunicorn workers start at once and each runs ``prepare_store``; a store-wide lock (a PostgreSQL advisory
lock, a file lock next to the SQLite file) makes exactly one of them migrate and fill an empty store with the demo
city while the others wait and then find the work done.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Iterator

from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import InterfaceError, OperationalError

from data_sources.config import CityConfig, SourceConfig
from data_sources.demo import load_demo
from data_sources.store.db import migrate, utcnow
from data_sources.store.models import Comment, CommentEvent, Observation, Source


class StoreUnavailable(Exception):
    """The store's surroundings fail (e.g. its folder is read-only, so the start-up lock cannot be taken)."""


# Errors that mean "the store cannot be reached or cannot write right now" (server down, connection dropped,
# SQLite file unreadable, read-only or disk full), as opposed to a bug in a query.
STORE_ERRORS = (OperationalError, InterfaceError, StoreUnavailable)


def sqlite_path(engine: Engine) -> Path | None:
    if engine.dialect.name != "sqlite":
        return None
    db = engine.url.database
    return Path(db) if db and db != ":memory:" else None


@contextmanager
def store_lock(engine: Engine, name: str, timeout: float = 600, wait: bool = True) -> Iterator[bool]:
    """Hold a lock shared by every process that uses this store (not a lock on any table); yields True once held.
    With ``wait=False`` it does not wait: it yields False at once when another process holds the lock.

    On PostgreSQL it is a transaction-level advisory lock, held by a transaction kept open on one connection for
    as long as the block runs: it is released however that connection ends, and it works through PgBouncer in
    transaction mode (a session-level lock taken there could be released on another server connection)."""
    if engine.dialect.name == "postgresql":
        key = zlib.crc32(name.encode())  # advisory locks take a bigint
        with engine.connect() as conn, conn.begin():
            conn.execute(text(f"SET LOCAL lock_timeout = {int(timeout * 1000)}"))
            if wait:
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
            elif not conn.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key}):
                yield False
                return
            yield True
        return
    path = sqlite_path(engine)
    if path is None:
        yield True
        return
    from filelock import FileLock, Timeout

    lock = FileLock(str(path) + f".{name}.lock", timeout=timeout if wait else 0)
    try:
        lock.acquire()
    except Timeout:
        if wait:
            raise
        yield False
        return
    except OSError as e:  # read-only or full filesystem, missing folder
        raise StoreUnavailable(f"cannot take the lock {lock.lock_file}: {e}") from e
    try:
        yield True
    finally:
        lock.release()


def store_is_empty(engine: Engine) -> bool:
    with engine.connect() as conn:
        return (conn.scalar(select(func.count()).select_from(Source)) or 0) == 0


def prepare_store(engine: Engine, city: CityConfig, migrate_schema: bool = True) -> None:
    """Migrate, then fill an empty store with the demo city when the city asks for it; once across workers.
    Raises one of STORE_ERRORS when the store is unreachable."""
    if not migrate_schema and not (city.city.demo and store_is_empty(engine)):
        return  # the common case of an app built over a ready store: no lock, one cheap query
    with store_lock(engine, "prepare"):
        if migrate_schema:
            migrate(engine)
        if city.city.demo and store_is_empty(engine):
            logging.getLogger("citydash").info("empty store: loading the demo city")
            load_demo(engine, city)


def ping(engine: Engine) -> None:
    """A round trip to the store; raises one of STORE_ERRORS when it is unreachable."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def explain(engine: Engine, error: BaseException) -> str:
    """One line for the operator: what is wrong with the store, beyond the driver's words (for SQLite, a read-only
    or full filesystem is told apart from a missing file)."""
    first = str(getattr(error, "orig", None) or error).splitlines()[0]
    path = sqlite_path(engine)
    if path is None:
        return f"store unreachable: {first}"
    folder = path.parent
    if not folder.is_dir():
        return f"SQLite store {path}: folder {folder} does not exist ({first})"
    st = os.statvfs(folder)
    if st.f_flag & os.ST_RDONLY:
        return f"SQLite store {path}: the filesystem is mounted read-only ({first})"
    if st.f_bavail * st.f_frsize < 1024 * 1024:
        return f"SQLite store {path}: the disk is full, {st.f_bavail * st.f_frsize} bytes free ({first})"
    return f"SQLite store {path}: {first}"


def data_version(engine: Engine) -> tuple[str, ...]:
    """Changes whenever data or comments arrive: (newest comment, newest comment event (status, answers,
    moderation), newest observation, latest source refresh, number of sources). Each part is a primary-key max or
    a tiny table: one cheap round trip."""
    q = select(
        select(func.max(Comment.id)).scalar_subquery(),
        select(func.max(CommentEvent.id)).scalar_subquery(),
        select(func.max(Observation.id)).scalar_subquery(),
        select(func.max(Source.last_success_at)).scalar_subquery(),
        select(func.count()).select_from(Source).scalar_subquery(),
    )
    with engine.connect() as conn:
        return tuple(str(v) for v in conn.execute(q).one())


# --- the refresh worker ----------------------------------------------------------------------------------


def parse_interval(spec: str) -> timedelta:
    """'90s', '15m', '1h', '2d' (the TOML's ``refresh`` and ``citydash refresh --every``)."""
    m = re.fullmatch(r"(\d+)([smhd])", spec.strip())
    if not m or int(m.group(1)) == 0:
        raise ValueError(f"expected a duration such as 90s, 15m, 1h or 2d; got {spec!r}")
    return timedelta(**{{"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[m.group(2)]: int(m.group(1))})


STALE_FACTOR = 3  # a source is stale after this many missed refresh intervals
DEFAULT_REFRESH = timedelta(hours=1)  # for a source the city's TOML does not configure (demo, one-off import)


@dataclass(frozen=True)
class SourceStatus:
    name: str
    title: str
    last_success_at: datetime | None
    age_seconds: float | None
    stale: bool  # no success within STALE_FACTOR refresh intervals (or never)
    failing: bool  # the last attempt failed; its message stays in the store (it may name internal hosts)

    @property
    def behind(self) -> bool:
        """What citizens are told about: the data shown is older than it should be, or its source is failing."""
        return self.stale or self.failing


def source_status(engine: Engine, city: CityConfig, now: datetime | None = None) -> list[SourceStatus]:
    """Each source's last success, its age, and whether it is stale or failing, by name. ``/healthz`` reports
    these; the public pages mark the figures of the sources that are behind."""
    intervals = {s.name: parse_interval(s.refresh) for s in city.sources}
    now = now or utcnow()
    with engine.connect() as conn:
        rows = conn.execute(
            select(Source.name, Source.title, Source.last_success_at, Source.last_error_at, Source.kind)
        ).all()
    # A configured source that never ran is as stale as one that stopped.
    titles = {s.name: s.title or s.name for s in city.sources}
    rows += [(name, titles[name], None, None, None) for name in sorted(set(intervals) - {r[0] for r in rows})]
    out = []
    for name, title, ok_at, err_at, kind in sorted(rows, key=lambda r: r[0]):
        age = (now - ok_at).total_seconds() if ok_at else None
        limit = intervals.get(name, DEFAULT_REFRESH) * STALE_FACTOR
        out.append(
            SourceStatus(
                name=name,
                title=title or name,
                last_success_at=ok_at,
                age_seconds=age,
                # The demo city is a snapshot taken at its first start: it never refreshes.
                stale=kind != "demo" and (age is None or age > limit.total_seconds()),
                failing=bool(err_at and (ok_at is None or err_at >= ok_at)),
            )
        )
    return out


def freshness_window(source: SourceConfig | None) -> timedelta:
    """How old a source's newest reading may be before the figures it feeds are stale (the second clock: the age
    of the data, apart from when the source was last fetched): its ``stale_after``, else STALE_FACTOR refresh
    intervals; a source the TOML does not configure (the demo, a one-off import) gets STALE_FACTOR hours."""
    if source is None:
        return DEFAULT_REFRESH * STALE_FACTOR
    if source.stale_after:
        return parse_interval(source.stale_after)
    return parse_interval(source.refresh) * STALE_FACTOR


def freshness_windows(city: CityConfig) -> dict[str, timedelta]:
    """Source name -> its freshness window (``freshness_window``), for every configured source."""
    return {s.name: freshness_window(s) for s in city.sources}


def window_of(city: CityConfig, source_names: set[str] | list[str]) -> timedelta:
    """The freshness window of a figure fed by ``source_names``: the longest of theirs (a figure is stale only
    when even its slowest source should have sent something newer)."""
    windows = freshness_windows(city)
    return max((windows.get(n, freshness_window(None)) for n in source_names), default=freshness_window(None))


def is_stale(as_of: datetime | None, window: timedelta, now: datetime) -> bool:
    """True when the newest reading ``as_of`` (naive UTC) is older than ``window`` at ``now`` (no reading: not
    stale, there is simply nothing to show)."""
    return as_of is not None and now - as_of > window


def due_sources(engine: Engine, city: Any, now: datetime) -> list:
    """The enabled sources whose own ``refresh`` interval has passed since their last attempt."""
    with engine.connect() as conn:
        last = dict(conn.execute(select(Source.name, Source.last_attempt_at)).all())
    return [
        s
        for s in city.sources
        if s.enabled and (last.get(s.name) is None or now - last[s.name] >= parse_interval(s.refresh))
    ]


def run_every(every: timedelta, tick: Callable[[], None], stop: threading.Event) -> int:
    """Call ``tick`` every ``every`` until ``stop`` is set; a failing tick (store down, a bug in one connector)
    is logged and the next one runs on time: the worker never exits over one bad run. Returns the ticks run."""
    log = logging.getLogger("citydash")
    n = 0
    while not stop.is_set():
        started = time.monotonic()
        n += 1
        try:
            tick()
        except Exception:
            log.exception("refresh run failed; next run as scheduled")
        stop.wait(max(0.0, every.total_seconds() - (time.monotonic() - started)))
    return n


# --- backup and restore ----------------------------------------------------------------------------------


def _pg_env(engine: Engine) -> tuple[list[str], dict[str, str]]:
    """libpq connection arguments, with the password in the environment rather than on the command line."""
    u = engine.url
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    args = ["--host", u.host or "localhost", "--port", str(u.port or 5432), "--username", u.username or "postgres"]
    return args, env


def backup(engine: Engine, dest: str | os.PathLike) -> Path:
    """A consistent copy of the live store at ``dest``, taken while the app keeps serving: SQLite's online
    backup API (a page-by-page copy under a read transaction), or ``pg_dump --format=custom``."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".partial")
    if engine.dialect.name == "sqlite":
        src = sqlite_path(engine)
        if src is None:
            raise ValueError("an in-memory store cannot be backed up")
        with sqlite3.connect(src) as s, sqlite3.connect(tmp) as d:
            s.backup(d)
        with sqlite3.connect(tmp) as d:  # a backup is whole or it is nothing
            if d.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise RuntimeError(f"{tmp}: integrity check failed")
    elif engine.dialect.name == "postgresql":
        args, env = _pg_env(engine)
        _run(
            [
                "pg_dump",
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                *args,
                "--file",
                str(tmp),
                engine.url.database,
            ],
            env,
        )
    else:
        raise ValueError(f"no backup for {engine.dialect.name}")
    os.replace(tmp, dest)
    return dest


def restore(engine: Engine, src: str | os.PathLike) -> None:
    """Replace the store's contents with the backup ``src``, then migrate it to the current schema (a backup
    made by an older version is upgraded, never downgraded)."""
    src = Path(src)
    if not src.is_file():
        raise FileNotFoundError(f"{src}: no such backup")
    if engine.dialect.name == "sqlite":
        dst = sqlite_path(engine)
        if dst is None:
            raise ValueError("cannot restore into an in-memory store")
        with sqlite3.connect(f"file:{src}?mode=ro", uri=True) as s:
            if s.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise RuntimeError(f"{src}: not an intact SQLite store")
            with sqlite3.connect(dst, timeout=30) as d:
                s.backup(d)  # page by page into the live file, under its write lock: readers see old or new
        engine.dispose()  # pooled connections may cache the old schema
    elif engine.dialect.name == "postgresql":
        args, env = _pg_env(engine)
        engine.dispose()
        _restore_pg(src, args, env, str(engine.url.database))
    else:
        raise ValueError(f"no restore for {engine.dialect.name}")
    migrate(engine)


# pg_restore --clean cannot drop a partition's constraints one by one (they belong to the partitioned table): the
# partitioned observations table goes first, with its partitions, in the same transaction as the restore.
_RESTORE_PREFIX = b"DROP TABLE IF EXISTS observations CASCADE;\n"


def _restore_pg(src: Path, args: list[str], env: dict[str, str], database: str) -> None:
    """pg_restore's script (--clean) through psql in one transaction: all of the backup or nothing."""
    for tool in ("pg_restore", "psql"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} not found: install the PostgreSQL client (apt-get install postgresql-client)")
    script = ["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges", "--file", "-", str(src)]
    psql = ["psql", "--quiet", "--no-psqlrc", "-v", "ON_ERROR_STOP=1", *args]
    with tempfile.TemporaryFile() as err_file:
        with subprocess.Popen(script, env=env, stdout=subprocess.PIPE, stderr=err_file) as dump:
            load = subprocess.Popen(
                [*psql, "--dbname", database],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=err_file,
            )
            assert load.stdin is not None and dump.stdout is not None
            try:
                load.stdin.write(b"BEGIN;\n" + _RESTORE_PREFIX)
                shutil.copyfileobj(dump.stdout, load.stdin, 1 << 20)
                if dump.wait() == 0:  # COMMIT only after the whole script: otherwise psql's exit rolls back
                    load.stdin.write(b"COMMIT;\n")
            except BrokenPipeError:  # psql stopped at an error (and rolled back): reported below
                dump.kill()  # nobody reads its output any more
            finally:
                load.stdin.close()
            load.wait()
        if dump.returncode != 0 or load.returncode != 0:
            err_file.seek(0)
            tool = "psql" if load.returncode != 0 else "pg_restore"
            raise RuntimeError(f"{tool} failed: {err_file.read().decode(errors='replace').strip()[-500:]}")


def _run(cmd: list[str], env: dict[str, str]) -> None:
    if shutil.which(cmd[0]) is None:
        raise RuntimeError(f"{cmd[0]} not found: install the PostgreSQL client (apt-get install postgresql-client)")
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed: {r.stderr.strip()[-500:]}")
