"""Refresh and import: run connectors and write what they parse into the store, with a run log.

``refresh`` fetches every enabled source of a city (or one), parses and upserts it; a failing source is logged
with one line, keeps its last good data (nothing is deleted, ``last_success_at`` stays) and does not stop the
others. ``import_file`` puts one local payload through the same parse and upsert. Both are idempotent: the same
upstream data twice adds nothing the second time.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select

from data_sources.ingest.types import ParseResult, SourceError
from data_sources.ingest.connectors import get_connector
from data_sources.store.models import Feature, Observation, Source
from data_sources.store.db import (
    finish_run,
    record_failure,
    record_success,
    start_run,
    upsert_features,
    upsert_observations,
    upsert_source,
)
from data_sources.config import CityConfig


@dataclass
class RunResult:
    source: str
    kind: str
    features: int = 0  # features added (updated ones are not counted)
    observations: int = 0  # observations added
    skipped: int = 0
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_dict(self) -> dict:
        return asdict(self)


def connector_params(source: Any) -> dict:
    """A source's params, with its configured layer (a top-level TOML key) passed down to the parser."""
    params = dict(source.params)
    if source.layer:
        params.setdefault("layer", source.layer)
    return params


def store_result(engine: Engine, source_id: int, parsed: ParseResult) -> tuple[int, int]:
    """Upsert one parse result; returns (features added, observations added)."""
    ids = upsert_features(engine, source_id, parsed.features)
    added = upsert_observations(engine, ids, parsed.observations)
    return getattr(ids, "added", 0), added


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
            select(func.max(Observation.time)).join(Feature, Observation.feature_id == Feature.id).where(Feature.source_id == source_id)
        )
    return (min(last, newest) if newest is not None else last) - OVERLAP


def run_source(engine: Engine, source: Any, session: Any) -> RunResult:
    """Fetch, parse and store one configured source, logging the run."""
    t0 = time.perf_counter()
    out = RunResult(source=source.name, kind=source.kind)
    sid = upsert_source(engine, source.name, source.kind, title=source.title)
    run_id = start_run(engine, sid)
    since = fetch_window_start(engine, sid)
    try:
        connector = get_connector(source.kind)
        params = connector_params(source)
        parsed = connector.parse(connector.fetch(session, params, since), params)
        upsert_source(engine, source.name, source.kind, meta=parsed.meta, title=source.title)
        out.features, out.observations = store_result(engine, sid, parsed)
        out.skipped = parsed.skipped
    except Exception as e:  # noqa: BLE001  (one bad source must not stop the others)
        out.error = f"{source.name}: {_one_line(e)}"
        record_failure(engine, sid, out.error)
    else:
        record_success(engine, sid)
    finish_run(engine, run_id, out.features, out.observations, out.skipped, out.error)
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


def refresh(engine: Engine, city: CityConfig, session: Any, only: str | None = None, progress: bool = False) -> RefreshReport:
    """Load the city's districts if needed, refresh its enabled sources (or the one named ``only``, enabled or
    not), then place new features in their districts."""
    from tqdm import tqdm

    from data_sources.store.districts import sync_districts
    from data_sources.store.db import assign_districts

    report = RefreshReport(runs=[])
    try:
        report.districts_loaded = sync_districts(engine, city)
    except SourceError as e:
        report.districts_error = f"districts: {_one_line(e)}"
    sources = [city.source(only)] if only else [s for s in city.sources if s.enabled]
    bar = tqdm(sources, desc="refresh", unit="source", disable=not progress)
    for source in bar:
        bar.set_postfix_str(source.name)
        report.runs.append(run_source(engine, source, session))
    assign_districts(engine, Feature)
    return report


def import_file(engine: Engine, kind: str, path: str, source: Any=None, params: dict | None = None) -> dict:
    """Load one local payload of ``kind`` (a downloaded response, an archive CSV, a vector file) and store it.

    ``source``: the configured SourceConfig to import into (its name, title and params), or None to import into
    a source named after the kind. Returns {"source", "kind", "features", "observations", "skipped"}.
    """
    connector = get_connector(kind)
    name = source.name if source is not None else kind
    if source is not None and source.kind != kind:
        raise SourceError(f"source {source.name!r} is of kind {source.kind!r}, not {kind!r}")
    p = {**(connector_params(source) if source is not None else {}), **(params or {})}
    parsed = connector.parse(connector.read_file(path, p), p)
    sid = upsert_source(engine, name, kind, meta=parsed.meta, title=source.title if source is not None else "")
    run_id = start_run(engine, sid)
    try:
        features, observations = store_result(engine, sid, parsed)
    except Exception as e:
        finish_run(engine, run_id, error=f"{name}: {_one_line(e)}")
        raise
    finish_run(engine, run_id, features, observations, parsed.skipped)
    if features:
        from data_sources.store.db import assign_districts

        assign_districts(engine, Feature)
    return {"source": name, "kind": kind, "features": features, "observations": observations, "skipped": parsed.skipped}
