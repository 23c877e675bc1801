"""Refresh and import: run connectors and write what they parse into the store, with a run log.

``refresh`` fetches every enabled source of a city (or one), parses and upserts it; a failing source is logged
with one line, keeps its last good data (nothing is deleted, ``last_success_at`` stays) and does not stop the
others. ``import_file`` puts one local payload through the same parse and upsert. Both are idempotent: the same
upstream data twice adds nothing the second time.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Collection

from sqlalchemy import Engine, func, select

from data_sources.config import CityConfig, SourceConfig
from data_sources.ingest import attributes
from data_sources.ingest.connectors import CONNECTORS, get_connector
from data_sources.ingest.http import local_path
from data_sources.ingest.types import Connector, ParseResult, SourceError
from data_sources.store.db import (
    finish_run,
    record_failure,
    record_success,
    start_run,
    upsert_features,
    upsert_observations,
    upsert_source,
)
from data_sources.store.footprint import Footprint, footprint, mark_outside
from data_sources.store.models import Feature, Observation, Source


@dataclass
class RunResult:
    source: str
    kind: str
    features: int = 0  # features added (updated ones are not counted)
    observations: int = 0  # observations added
    skipped: int = 0
    outside: int = 0  # features of this run outside the city's footprint (stored, not counted in its figures)
    skipped_by_reason: dict[str, int] = field(default_factory=dict)
    unmapped: dict[str, dict[str, int]] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_dict(self) -> dict:
        return asdict(self)


def connector_params(source: Any) -> dict:
    """A source's params, with its configured layer and attribute mapping (top-level TOML keys) passed down."""
    params = dict(source.params)
    if source.layer:
        params.setdefault("layer", source.layer)
    if getattr(source, "attributes", None):
        params.setdefault("attributes", dict(source.attributes))
    return params


def fetch_payload(connector: Any, session: Any, params: dict, since: Any = None, base: Path | None = None) -> Any:
    """The payload of one source: fetched over HTTP, or, when ``params.file`` or ``params.url`` is a local path or
    a ``file://`` URL (relative paths from the city TOML's folder), read from disk by the kind's ``read_file`` as
    ``citydash import`` reads it. Every kind can so be staged from saved files."""
    staged = params.get("file") or params.get("url")
    local = local_path(staged) if isinstance(staged, str) and staged else None
    if local is None:
        if params.get("file"):
            raise SourceError("params.file must be a local path or a file:// URL")
        return connector.fetch(session, params, since)
    if base is not None and not local.is_absolute():
        local = base / local
    if not local.exists():
        raise SourceError(f"{staged}: file not found")
    return connector.read_file(str(local), params)


def parse_checked(connector: Connector, payload: Any, params: dict[str, Any]) -> ParseResult:
    """Parse, map the canonical attributes, and refuse a payload that had rows but gave nothing to load. A parser
    tripping over a payload of another shape fails with one line, never a traceback."""
    try:
        parsed = connector.parse(payload, params)
    except (AttributeError, TypeError, KeyError, IndexError, ValueError) as e:
        if isinstance(e, SourceError):
            raise
        kind = next((k for k, c in CONNECTORS.items() if c is connector), "connector's")
        raise SourceError(f"the payload is not the shape a {kind} answer has ({type(e).__name__}: {e})") from None
    parsed = attributes.apply(parsed, params)
    if parsed.skipped and not len(parsed.features) and not len(parsed.observations):
        raise SourceError(f"nothing loaded: {_reasons_text(parsed)}")
    return parsed


def _reasons_text(parsed: ParseResult) -> str:
    read = f"read {parsed.rows_read} rows, " if parsed.rows_read else ""
    reasons = ", ".join(f"{k} {v}" for k, v in parsed.reasons().items())
    return f"{read}skipped {parsed.skipped} ({reasons})"


def store_result(
    engine: Engine, source_id: int, parsed: ParseResult, footprint: Footprint | None = None, progress: bool = False
) -> tuple[int, int, int]:
    """Upsert one parse result; returns (features added, observations added, features outside the footprint).
    ``progress``: a bar while the observations are written (command-line imports)."""
    ids = upsert_features(engine, source_id, parsed.features, footprint)
    added = upsert_observations(engine, ids, parsed.observations, progress=progress)
    return getattr(ids, "added", 0), added, getattr(ids, "outside", 0)


def one_line(e: BaseException) -> str:
    """An exception as the one line a data team reads (refresh, import, check)."""
    return _one_line(e)


def _one_line(e: BaseException) -> str:
    if isinstance(e, SourceError):
        text = str(e)
    else:  # a parser tripping over an unexpected payload is a source problem too, but say what it was
        text = f"unexpected {type(e).__name__}: {e}"
    return " ".join(text.split())[:500]


OVERLAP = timedelta(hours=1)


def fetch_window_start(engine: Engine, source_id: int) -> datetime | None:
    """Where an incremental fetch starts: None before the first success, else the older of the last successful
    fetch and the newest stored observation, less an hour. Portals often publish late (yesterday's counts
    uploaded this morning), so "since the last fetch" alone would skip rows timed before it; the overlap costs
    nothing because the store ignores rows it already has."""
    with engine.connect() as conn:
        last = conn.scalar(select(Source.last_success_at).where(Source.id == source_id))
        if last is None:
            return None
        newest = conn.scalar(
            select(func.max(Observation.time))
            .join(Feature, Observation.feature_id == Feature.id)
            .where(Feature.source_id == source_id)
        )
    return (min(last, newest) if newest is not None else last) - OVERLAP


def run_source(
    engine: Engine, source: SourceConfig, session: Any, footprint: Footprint | None = None, base: Path | None = None
) -> RunResult:
    """Fetch (or read, see fetch_payload), parse and store one configured source, logging the run; features
    outside ``footprint`` are stored, marked and counted in ``outside``."""
    t0 = time.perf_counter()
    out = RunResult(source=source.name, kind=source.kind)
    sid = upsert_source(engine, source.name, source.kind, title=source.title)
    run_id = start_run(engine, sid)
    since = fetch_window_start(engine, sid)
    try:
        connector = get_connector(source.kind)
        params = connector_params(source)
        parsed = parse_checked(connector, fetch_payload(connector, session, params, since, base), params)
        upsert_source(engine, source.name, source.kind, meta=parsed.meta, title=source.title)
        out.features, out.observations, out.outside = store_result(engine, sid, parsed, footprint)
        out.skipped, out.skipped_by_reason, out.unmapped = parsed.skipped, parsed.reasons(), parsed.unmapped
        rows_read = parsed.rows_read
    except Exception as e:  # noqa: BLE001  (one bad source must not stop the others)
        out.error = f"{source.name}: {_one_line(e)}"
        record_failure(engine, sid, out.error)
        rows_read = None
    else:
        record_success(engine, sid)
    finish_run(
        engine,
        run_id,
        out.features,
        out.observations,
        out.skipped,
        out.error,
        rows_read=rows_read,
        skipped_by_reason=out.skipped_by_reason,
        unmapped=out.unmapped,
    )
    out.seconds = round(time.perf_counter() - t0, 2)
    return out


@dataclass
class RefreshReport:
    runs: list[RunResult]
    districts_loaded: int = 0
    districts_error: str | None = None

    @property
    def ok(self) -> bool:
        return self.districts_error is None and all(r.ok for r in self.runs)


def refresh(
    engine: Engine, city: CityConfig, session: Any, only: str | None = None, progress: bool = False
) -> RefreshReport:
    """Load the city's districts if needed, refresh its enabled sources (or the one named ``only``, enabled or
    not), then place new features in their districts."""
    from tqdm import tqdm

    from data_sources.store.db import assign_districts
    from data_sources.store.districts import sync_districts

    report = RefreshReport(runs=[])
    try:
        report.districts_loaded = sync_districts(engine, city)
    except SourceError as e:
        report.districts_error = f"districts: {_one_line(e)}"
    fp = footprint(engine, city)
    if report.districts_loaded and city.city.clip == "districts":
        mark_outside(engine, fp)  # the footprint itself changed: judge the stored features again
    sources = [city.source(only)] if only else [s for s in city.sources if s.enabled]
    bar = tqdm(sources, desc="refresh", unit="source", disable=not progress)
    for source in bar:
        bar.set_postfix_str(source.name)
        report.runs.append(run_source(engine, source, session, fp, city.path.parent if city.path else None))
    assign_districts(engine, Feature)
    return report


def file_source_name(path: str, kind: str) -> str:
    """The source an import without --source goes to: the file's name as a slug, e.g. "radwege-2024"."""
    stem = Path(str(path).rstrip("/")).name.split(".")[0].lower()
    slug = re.sub(r"[^a-z0-9_\-]+", "-", stem).strip("-_")[:80]
    return slug or kind


def _kind_of(engine: Engine, name: str) -> str | None:
    with engine.connect() as conn:
        return conn.scalar(select(Source.kind).where(Source.name == name))


def import_file(
    engine: Engine,
    kind: str,
    path: str,
    source: SourceConfig | None = None,
    params: dict | None = None,
    configured: Collection[str] = (),
    footprint: Footprint | None = None,
    progress: bool = False,
) -> dict:
    """Load one local payload of ``kind`` (a downloaded response, an archive CSV, a vector file) and store it,
    recording the run and the source's success as a refresh does.

    ``source``: the configured SourceConfig to import into (its name, title and params). Without it the import
    goes to a source named after the file, created on the first import and reused after; a name already taken
    by a source of another kind, or by one of the city's ``configured`` sources, gets the kind appended, so an
    import never overwrites another source's features. Returns {"source", "kind", "features",
    "observations", "skipped", "skipped_by_reason", "unmapped", "created", ...}; a payload with rows but nothing
    loadable raises SourceError with the reasons (the failed run is recorded when the source exists).
    ``footprint``: the city's (features outside it are stored, marked and counted in "outside"). ``progress``:
    a bar while the observations are written (the command line on a terminal).
    """
    connector = get_connector(kind)
    if source is not None and source.kind != kind:
        raise SourceError(f"source {source.name!r} is of kind {source.kind!r}, not {kind!r}")
    note = None
    if source is not None:
        name = source.name
    else:
        name = file_source_name(path, kind)
        if name in configured or _kind_of(engine, name) not in (None, kind):
            name = f"{name}-{kind}"
    created = _kind_of(engine, name) is None
    if source is None:
        note = (
            f"{'created' if created else 'reused'} source {name!r}, named after the file; "
            "give --source NAME to import into a source of the city's TOML"
        )
    p = {**(connector_params(source) if source is not None else {}), **(params or {})}
    sid = upsert_source(engine, name, kind, title=source.title if source is not None else "")
    run_id = start_run(engine, sid)
    try:
        parsed = parse_checked(connector, connector.read_file(path, p), p)
        upsert_source(engine, name, kind, meta=parsed.meta, title=source.title if source is not None else "")
        features, observations, outside = store_result(engine, sid, parsed, footprint, progress)
    except Exception as e:
        error = f"{name}: {_one_line(e)}"
        record_failure(engine, sid, error)
        finish_run(engine, run_id, error=error)
        raise
    record_success(engine, sid)
    reasons = parsed.reasons()
    finish_run(
        engine,
        run_id,
        features,
        observations,
        parsed.skipped,
        rows_read=parsed.rows_read,
        skipped_by_reason=reasons,
        unmapped=parsed.unmapped,
    )
    if features:
        from data_sources.store.db import assign_districts

        assign_districts(engine, Feature)
    out = {
        "source": name,
        "kind": kind,
        "features": features,
        "observations": observations,
        "skipped": parsed.skipped,
        "outside": outside,
        "skipped_by_reason": reasons,
        "rows_read": parsed.rows_read,
        "unmapped": parsed.unmapped,
        "created": created,
    }
    if note:
        out["note"] = note
    return out
