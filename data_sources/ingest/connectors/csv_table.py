"""Plain CSV tables (a portal's export URL, or a local file), mapped by the portal field mapping.

params: ``url`` or ``path`` (or ``file``; a path or ``file://`` URL), the reading options of
data_sources/ingest/connectors/_tables.py (``encoding``, ``delimiter``, ``skip_rows``, ``skip_after_header``,
``decimal``, ``missing``, ``sentinels``, ``date_format``, ``dayfirst``, ``date_locale``, ``timezone``,
``dst_gap``, ``wide``, ``locations``...) plus the field mapping of data_sources/ingest/connectors/_portal.py (id,
location or geometry as WKT/GeoJSON/"lat,lon", time, metric values and units). No key; the licence is the
publisher's, stated in ``licence``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from data_sources.ingest.connectors import _tables as tables
from data_sources.ingest.connectors._portal import meta_from, records_to_result
from data_sources.ingest.http import request
from data_sources.ingest.types import ParseResult, SourceError


def fetch(session: Any, params: dict, since: Any = None) -> bytes:
    if params.get("url"):
        resp = request(session, params["url"])
        assert resp is not None  # only missing_ok answers None
        return resp.content
    if params.get("path"):
        return read_file(params["path"], params)
    raise SourceError("csv needs params.url or params.path")


def read_file(path: str, params: dict) -> bytes:
    """The file's bytes: parse decodes them with params.encoding."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise SourceError(f"{path}: file not found") from None


def _text_fields(params: dict) -> list[str]:
    fields: list[str] = []
    for k in ("id_field", "name_field", "locations_field"):
        v = params.get(k)
        fields += [v] if isinstance(v, str) else list(v) if isinstance(v, list) else []
    time = params.get("time_field")
    if params.get("date_format") or params.get("dayfirst") or params.get("date_locale"):
        fields += time if isinstance(time, list) else [time] if time else []
        fields += list((params.get("times") or {}).values())
    return fields


def parse(payload: Any, params: dict) -> ParseResult:
    text = tables.decode(payload, params)
    df, reasons = tables.read_csv_text(text, params, _text_fields(params))
    return records_to_result(df, params, meta_from(params), skipped_by_reason=reasons)
