"""Opendatasoft portals, Explore API v2.1 records (``/api/explore/v2.1/catalog/datasets/ID/records``).

params: ``base_url`` (e.g. https://data.opendatasoft.com or a city's own domain), ``dataset``, optional
``where`` (an ODSQL filter), ``page_size`` (at most 100, the API's limit), ``max_records`` (at most 10000, the
API's offset ceiling; use an export URL with the ``csv`` kind beyond that), plus the field mapping of
data_sources/ingest/connectors/_portal.py. ``geo_point_2d`` fields ({lon, lat}) work as ``geometry_field``. No key for
public datasets.
"""

from __future__ import annotations

from typing import Any

from data_sources.ingest.connectors._common import read_json_payload, require
from data_sources.ingest.connectors._portal import need, page_size, paginate, parse_pages, since_iso
from data_sources.ingest.http import get_json

MAX_OFFSET = 10_000


def fetch(session: Any, params: dict, since: Any = None) -> dict:
    need(params, "opendatasoft", "base_url", "dataset")
    url = f"{params['base_url'].rstrip('/')}/api/explore/v2.1/catalog/datasets/{params['dataset']}/records"
    size = page_size(params, 100, 100)
    where = [params["where"]] if params.get("where") else []
    query: dict[str, Any] = {"limit": size}
    if params.get("time_field"):
        query["order_by"] = f"{params['time_field']} desc"
        if since is not None:
            where.append(f"{params['time_field']} >= date'{since_iso(since, params)}'")
    if where:
        query["where"] = " and ".join(f"({w})" for w in where)

    def page(offset: int) -> tuple[list, Any]:
        doc = get_json(session, url, params={**query, "offset": offset})
        return _records(doc), doc

    return paginate(page, size, min(int(params.get("max_records", MAX_OFFSET)), MAX_OFFSET), params, since)


def _records(doc: Any) -> list:
    if isinstance(doc, list):  # an /exports/json download
        return doc
    require(doc, ("results",), "an Opendatasoft records response")
    return doc["results"]


read_file = read_json_payload


def parse(payload: Any, params: dict) -> Any:
    return parse_pages(payload, params, _records)
