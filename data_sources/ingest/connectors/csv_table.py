"""Plain CSV tables (a portal's export URL, or a local file), mapped by the portal field mapping.

params: ``url`` or ``path``, optional ``delimiter`` (default ``,``), ``encoding`` (default utf-8), plus the field
mapping of data_sources/ingest/connectors/_portal.py (id, location or geometry as WKT/GeoJSON/"lat,lon", time, metric
values and units). No key; the licence is the publisher's, stated in ``licence``.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd

from data_sources.ingest.types import SourceError
from data_sources.ingest.connectors._portal import meta_from, records_to_result
from data_sources.ingest.http import get_text


def fetch(session: Any, params: dict, since: Any = None) -> str:
    if params.get("url"):
        return get_text(session, params["url"])
    if params.get("path"):
        return read_file(params["path"], params)
    raise SourceError("csv needs params.url or params.path")


def read_file(path: str, params: dict) -> str:
    return Path(path).read_text(encoding=params.get("encoding", "utf-8-sig"))


def parse(payload: Any, params: dict) -> Any:
    text_fields = {params[k]: str for k in ("id_field", "name_field") if params.get(k)}
    try:
        df = pd.read_csv(io.StringIO(payload), sep=params.get("delimiter", ","), dtype=text_fields)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise SourceError(f"malformed CSV: {str(e).splitlines()[0]}") from None
    return records_to_result(df, params, meta_from(params))
