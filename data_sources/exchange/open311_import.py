"""Import service requests from another Open311 GeoReport v2 server (a city moving from an older system keeps its
history), from a URL or a saved ``requests.json`` / ``requests.xml``.

Like a connector it has two halves: ``fetch`` talks HTTP through an injected session (following the common
page/page_size extension when the server pages), ``parse`` is a pure function of one payload. ``import_requests``
then hands each request to ``submit_comment`` (validation, PII redaction, moderation), with a client_key derived
from the upstream id, so importing the same payload twice adds nothing.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import Engine

from data_sources.comments.records import CommentInput, CommentRejected, submit_comment
from data_sources.config import CityConfig
from data_sources.ingest.types import SourceError
from data_sources.store.db import parse_utc
from data_sources.store.models import COMMENT_STATUSES

MAX_PAGES = 200
PAGE_SIZE = 1000
CLOSED_REASON = "closed_upstream"
_KEY_RE = re.compile(r"^[A-Za-z0-9_\-:.]{8,100}$")


@dataclass
class UpstreamRequest:
    id: str
    service_code: str
    service_name: str
    status: str  # open | closed (lower-cased upstream value)
    description: str
    requested: datetime | None  # naive UTC
    lat: float
    lon: float


@dataclass
class Parsed:
    requests: list[UpstreamRequest] = field(default_factory=list)
    skipped: int = 0  # unusable upstream rows (no id, no usable coordinates)


# --- parse (pure) ----------------------------------------------------------------------------------------------


def _records(payload: bytes | str | list | dict) -> list[dict]:
    """One payload (JSON text or value, or GeoReport XML) as a list of flat dicts of strings/values."""
    if isinstance(payload, (list, dict)):
        data = payload
    else:
        text = payload.decode("utf-8-sig") if isinstance(payload, bytes) else payload.lstrip("\ufeff")
        stripped = text.lstrip()
        if stripped.startswith("<"):
            try:
                root = ET.fromstring(stripped.encode())
            except ET.ParseError as e:
                raise SourceError(f"not well-formed XML: {e}") from None
            if _local(root.tag) == "errors":
                raise SourceError(
                    "the server answered with errors: "
                    + "; ".join((_child_text(err, "description") or "") for err in root)
                )
            if _local(root.tag) == "services":
                raise SourceError(SERVICES_LIST)
            return [
                {_local(c.tag): (c.text or "").strip() or None for c in req}
                for req in root
                if _local(req.tag) == "request"
            ]
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise SourceError(f"neither JSON nor XML: {e}") from None
    if isinstance(data, dict):
        data = data.get("service_requests") or data.get("requests") or []
    if not isinstance(data, list):
        raise SourceError("expected a list of service requests")
    records = [r for r in data if isinstance(r, dict)]
    # GeoReport v2 services carry "metadata" and "type" (realtime/batch/blackbox); requests never do.
    if records and all(
        "service_request_id" not in r and {"service_code", "metadata", "type"} <= set(r) for r in records
    ):
        raise SourceError(SERVICES_LIST)
    return records


SERVICES_LIST = (
    "this is an Open311 services list (service_code, service_name), not service requests; give the "
    "server's requests.json or requests.xml, or its root URL, and map its service codes with --map CODE=CATEGORY"
)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child_text(el: ET.Element, name: str) -> str | None:
    for c in el:
        if _local(c.tag) == name:
            return c.text
    return None


def parse_datetime(value: Any, tz: str = "UTC") -> datetime | None:
    """W3C datetimes, and the non-ISO forms seen in the wild (``2012-05-22 23:57:23.97``); a time without an
    offset is taken in ``tz`` (the importing city's zone). Returns naive UTC, or None when unreadable."""
    if not value or not isinstance(value, str):
        return None
    try:
        return parse_utc(value, tz)
    except ValueError:
        return None


def _coord(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def parse(payload: bytes | str | list | dict, tz: str = "UTC") -> Parsed:
    out = Parsed()
    for r in _records(payload):
        rid = "" if r.get("service_request_id") is None else str(r.get("service_request_id")).strip()
        lat, lon = _coord(r.get("lat")), _coord(r.get("long"))
        usable = (
            lat is not None
            and lon is not None
            and -90 <= lat <= 90
            and -180 <= lon <= 180
            and not (lat == 0 and lon == 0)
        )  # 0,0 is "unknown" upstream (SF311), not the Gulf of Guinea
        if not rid or not usable:
            out.skipped += 1
            continue
        out.requests.append(
            UpstreamRequest(
                id=rid,
                service_code=str(r.get("service_code") or "").strip(),
                service_name=str(r.get("service_name") or "").strip(),
                status=str(r.get("status") or "open").strip().lower(),
                description=str(r.get("description") or "").strip(),
                requested=parse_datetime(r.get("requested_datetime"), tz),
                lat=lat,
                lon=lon,
            )
        )
    return out


# --- fetch (injected session) ----------------------------------------------------------------------------------


def requests_url(url: str) -> str:
    """The requests resource of a server root (``https://host/open311/v2``) or the URL as given."""
    parts = urlsplit(url)
    if re.search(r"/requests\.(json|xml)$", parts.path):
        return url
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/requests.json"))


def fetch(session: Any, url: str, page_size: int = PAGE_SIZE, max_pages: int = MAX_PAGES) -> list[bytes]:
    """GET the requests, page by page while the server pages (a full page asks for the next; a page that repeats
    the previous one means the server ignores ``page``)."""
    url = requests_url(url)
    parts = urlsplit(url)
    base_query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("page", "page_size")]
    pages: list[bytes] = []
    previous_ids: set[str] | None = None
    for page in range(1, max_pages + 1):
        query = urlencode(base_query + [("page", str(page)), ("page_size", str(page_size))])
        resp = session.get(urlunsplit(parts._replace(query=query)), timeout=(10, 60))
        if resp.status_code != 200:
            raise SourceError(f"{url}: HTTP {resp.status_code}")
        body = resp.content
        records = _records(body)
        ids = {str(r.get("service_request_id")) for r in records}
        if not records or ids == previous_ids:
            break
        pages.append(body)
        if len(records) < page_size:
            break
        previous_ids = ids
    return pages


def read(source: str, session: Any = None, page_size: int = PAGE_SIZE) -> tuple[list[bytes], str]:
    """Payloads and origin host for a URL (through ``session``) or a local file."""
    if re.match(r"^https?://", source):
        if session is None:
            import requests

            session = requests.Session()
        return fetch(session, source, page_size), urlsplit(source).hostname or "remote"
    path = Path(source)
    try:
        return [path.read_bytes()], re.sub(r"[^A-Za-z0-9_.\-]", "_", path.stem)[:60] or "file"
    except OSError as e:
        raise SourceError(f"{source}: {e.strerror or e}") from None


# --- into the store --------------------------------------------------------------------------------------------


def client_key(host: str, upstream_id: str) -> str:
    key = f"o311:{host}:{upstream_id}"
    return key if _KEY_RE.match(key) else "o311:" + hashlib.sha256(f"{host}\n{upstream_id}".encode()).hexdigest()[:64]


def _slug(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", s.lower()).strip("_")


def category_for(req: UpstreamRequest, categories: list[str], mapping: dict[str, str] | None = None) -> str | None:
    """The city's category for an upstream service: an explicit mapping (by code or name), the same code, the
    same name as a slug, else "other" when the city has it."""
    mapping = mapping or {}
    for candidate in (
        mapping.get(req.service_code),
        mapping.get(req.service_name),
        req.service_code,
        _slug(req.service_name),
    ):
        if candidate and candidate in categories:
            return candidate
    return "other" if "other" in categories else None


def our_status(upstream: str) -> tuple[str, str | None]:
    if upstream == "closed":
        return "closed", CLOSED_REASON
    if upstream in COMMENT_STATUSES and upstream not in ("closed", "new"):
        return upstream, None
    return "new", None


def import_requests(
    engine: Engine, city: CityConfig, parsed: Parsed, host: str, mapping: dict[str, str] | None = None
) -> dict:
    """Submit each upstream request as a comment. Returns the import's counts and why rows were skipped."""
    origin = f"open311:{host}"[:100]
    added, skipped, reasons = 0, parsed.skipped, Counter()
    if parsed.skipped:
        reasons["location"] += parsed.skipped
    categories = list(city.city.comment_categories)
    for req in parsed.requests:
        category = category_for(req, categories, mapping)
        if category is None:
            skipped += 1
            reasons["category"] += 1
            continue
        status, reason = our_status(req.status)
        inp = CommentInput(
            lat=req.lat,
            lon=req.lon,
            category=category,
            text=req.description or req.service_name.replace("_", " "),
            client_key=client_key(host, req.id),
            origin=origin,
            created_at=req.requested,
            status=status,
            closed_reason=reason,
        )
        try:
            res = submit_comment(engine, city, inp)
        except CommentRejected as e:
            skipped += 1
            reasons[e.field] += 1
            continue
        added += 0 if res.duplicate_of_retry else 1
    return {
        "source": origin,
        "kind": "open311",
        "features": 0,
        "observations": 0,
        "comments": added,
        "skipped": skipped,
        "skipped_by_reason": dict(reasons),
    }


def import_open311(
    engine: Engine,
    city: CityConfig,
    source: str,
    session: Any = None,
    mapping: dict[str, str] | None = None,
    origin: str | None = None,
    page_size: int = PAGE_SIZE,
) -> dict:
    """``citydash import open311 URL-or-FILE``: read, parse every page, submit."""
    payloads, host = read(source, session, page_size)
    parsed = Parsed()
    for body in payloads:
        page = parse(body, city.city.timezone)
        parsed.requests += page.requests
        parsed.skipped += page.skipped
    return import_requests(engine, city, parsed, origin or host, mapping)
