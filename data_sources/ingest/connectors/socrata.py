"""Socrata SODA 2.x resources (``https://DOMAIN/resource/ID.json``), no key needed (an app token raises the
rate limit: put its environment variable's name in ``app_token_env``; it is sent as X-App-Token).

params: ``base_url`` (https://data.cityofnewyork.us), ``dataset`` (the 4x4 id), optional ``where`` (SoQL),
``page_size`` (default 1000), ``max_records`` (default 100000), plus the field mapping of
data_sources/ingest/connectors/_portal.py. Socrata sends every value as text and floating timestamps without an offset,
so set ``timezone`` to the city's zone. Paging is ordered by ``:id`` so that pages never overlap.
"""

from __future__ import annotations

import os
from typing import Any

from data_sources.ingest.connectors._common import read_json_payload
from data_sources.ingest.connectors._portal import need, page_size, paginate, parse_pages, since_iso
from data_sources.ingest.http import get_json
from data_sources.ingest.types import SourceError


def fetch(session: Any, params: dict, since: Any = None) -> dict:
    need(params, "socrata", "base_url", "dataset")
    url = f"{params['base_url'].rstrip('/')}/resource/{params['dataset']}.json"
    size = page_size(params, 1000, 50_000)
    where = [params["where"]] if params.get("where") else []
    if since is not None and params.get("time_field"):
        where.append(f"{params['time_field']} >= '{since_iso(since, params).rstrip('Z')}'")
    query: dict[str, Any] = {"$limit": size, "$order": ":id"}
    if where:
        query["$where"] = " AND ".join(f"({w})" for w in where)
    token = os.environ.get(params["app_token_env"], "") if params.get("app_token_env") else ""
    headers = {"X-App-Token": token} if token else None

    def page(offset: int) -> tuple[list, Any]:
        doc = get_json(session, url, params={**query, "$offset": offset}, headers=headers)
        return _records(doc), doc

    return paginate(page, size, int(params.get("max_records", 100_000)))


def _records(doc: Any) -> list:
    if not isinstance(doc, list):
        raise SourceError(f"upstream schema changed: expected a JSON list of Socrata rows, got {type(doc).__name__}")
    return doc


read_file = read_json_payload


def parse(payload: Any, params: dict) -> Any:
    return parse_pages(payload, params, _records)
