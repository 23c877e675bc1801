"""CKAN DataStore tables (``/api/3/action/datastore_search``), no key for public resources.

params: ``base_url`` (the portal, e.g. https://ckan0.cf.opendata.inter.prod-toronto.ca), ``resource_id``,
optional ``filters`` (exact-match table), ``page_size`` (default 1000), ``max_records`` (default 100000), plus
the field mapping of data_sources/ingest/connectors/_portal.py. With a ``time_field`` the newest rows come first and
paging stops once it reaches rows older than the last successful fetch.
"""

from __future__ import annotations

import json
from typing import Any

from data_sources.ingest.connectors._common import read_json_payload, require
from data_sources.ingest.connectors._portal import need, page_size, paginate, parse_pages
from data_sources.ingest.http import get_json
from data_sources.ingest.types import SourceError


def fetch(session: Any, params: dict, since: Any = None) -> dict:
    need(params, "ckan", "base_url", "resource_id")
    url = params["base_url"].rstrip("/") + "/api/3/action/datastore_search"
    size = page_size(params, 1000, 32000)
    query: dict[str, Any] = {"resource_id": params["resource_id"], "limit": size}
    if params.get("filters"):
        query["filters"] = json.dumps(params["filters"])
    if params.get("time_field"):
        query["sort"] = f"{params['time_field']} desc"

    def page(offset: int) -> tuple[list, Any]:
        doc = get_json(session, url, params={**query, "offset": offset})
        return _records(doc), doc

    return paginate(page, size, int(params.get("max_records", 100_000)), params, since)


def _records(doc: Any) -> list:
    if isinstance(doc, dict) and doc.get("success") is False:
        raise SourceError(f"CKAN error: {json.dumps(doc.get('error'))[:200]}")
    require(doc, ("result",), "a CKAN datastore_search response")
    require(doc["result"], ("records",), "the CKAN result")
    return doc["result"]["records"]


read_file = read_json_payload


def parse(payload: Any, params: dict) -> Any:
    return parse_pages(payload, params, _records)
