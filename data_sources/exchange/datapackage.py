"""Export the store as a Frictionless Data Package: ``datapackage.json`` (licences, sources, contributors), CSV
resources with Table Schemas and GeoJSON resources (RFC 7946), so anyone can reuse the city's open data and its
citizens' published comments.

Privacy: comments are exported as the public sees them (published only; the H3 res-9 cell centre, never the
exact point; no email, no original text, no internal notes). Written with plain csv and json; the test suite
validates the result with the ``frictionless`` package.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h3
from sqlalchemy import Engine, Row, Select, func, select
from sqlalchemy.orm import InstrumentedAttribute

from data_sources.config import CityConfig
from data_sources.comments.records import PUBLIC_EVENT_KINDS
from data_sources.ingest.types import LAYERS, METRICS
from data_sources.store.db import utc_iso, utcnow
from data_sources.store.models import (
    COMMENT_STATUSES,
    Comment,
    CommentEvent,
    District,
    Feature,
    Observation,
    Photo,
    Source,
)

CHUNK = 50_000
# An SPDX / Open Definition licence id at the start of a free-text licence ("CC-BY-4.0 (with ...)"): a word
# with a versioned or hyphenated part, so that "Open Government Licence" is not taken for an id called "Open".
_LICENCE_ID = re.compile(r"^[A-Za-z0-9]+(?:[-.][A-Za-z0-9+]+)+(?=$|\s)")


def licence(text: str) -> dict:
    """A Data Package licence object from a free-text licence."""
    text = (text or "").strip()
    m = _LICENCE_ID.match(text)
    return {"name": m.group(0) if m else "notspecified", "title": text or "Not specified by the publisher"}


def _field(name: str, type_: str, description: str, required: bool = False, **extra: Any) -> dict:
    f = {"name": name, "type": type_, "description": description, **extra}
    if required:
        f.setdefault("constraints", {})["required"] = True
    return f


def _file_meta(path: Path) -> dict:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return {"bytes": path.stat().st_size, "hash": f"sha256:{h.hexdigest()}"}


class _Writer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.resources: list[dict] = []

    def csv(
        self,
        name: str,
        title: str,
        schema: dict,
        rows: Iterable[list[object]],
        licences: list[dict],
        description: str = "",
    ) -> int:
        path = self.root / f"{name}.csv"
        n = 0
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow([f["name"] for f in schema["fields"]])
            for row in rows:
                w.writerow(["" if v is None else v for v in row])
                n += 1
        self.resources.append(
            {
                "name": name,
                "title": title,
                "description": description,
                "path": path.name,
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "profile": "tabular-data-resource",
                "schema": schema,
                "licenses": licences,
                **_file_meta(path),
            }
        )
        return n

    def geojson(self, name: str, title: str, collection: dict, licences: list[dict], description: str = "") -> None:
        path = self.root / f"{name}.geojson"
        path.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
        self.resources.append(
            {
                "name": name,
                "title": title,
                "description": description,
                "path": path.name,
                "format": "geojson",
                "mediatype": "application/geo+json",
                "encoding": "utf-8",
                "licenses": licences,
                **_file_meta(path),
            }
        )


def _chunked(engine: Engine, stmt: Select, key_col: InstrumentedAttribute[int]) -> Iterator[Row]:
    """Stream a large query in keyset pages (bounded memory on millions of rows, on SQLite and PostgreSQL)."""
    last = None
    while True:
        q = stmt if last is None else stmt.where(key_col > last)
        with engine.connect() as conn:
            rows = conn.execute(q.order_by(key_col).limit(CHUNK)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1][0]


@dataclass(frozen=True)
class _Store:
    """What every resource needs to know about the store: its sources, layers, metrics and licences."""

    sources: list[Any]  # rows of the Source columns read in _read_store
    layers: list[str]  # every layer with a feature, sorted
    metrics: list[str]  # every metric with an observation, sorted
    n_districts: int
    own: list[dict]  # the city's own licence (comments, their history, districts)
    public_url: str

    @property
    def source_name(self) -> dict[int, str]:
        return {s.id: s.name for s in self.sources}

    @property
    def source_licence(self) -> dict[int, dict]:
        return {s.id: licence(s.licence) for s in self.sources}

    @property
    def source_licences(self) -> list[dict]:
        """The upstream licences, each once; the city's own when there is no source."""
        lics = list({json.dumps(v, sort_keys=True): v for v in self.source_licence.values()}.values())
        return lics or self.own


@dataclass(frozen=True)
class CsvResource:
    """One CSV resource of the package: its Table Schema and its rows, both read from the store."""

    name: str
    title: str
    description: str
    schema: Callable[[_Store], dict]
    rows: Callable[[Engine, _Store], Iterable[list[object]]]
    city_licensed: bool  # under the city's licence (what it publishes itself) rather than its sources'


def _read_store(engine: Engine, city_licence: str, public_url: str) -> _Store:
    with engine.connect() as conn:
        srcs = conn.execute(
            select(
                Source.id,
                Source.name,
                Source.kind,
                Source.title,
                Source.publisher,
                Source.licence,
                Source.attribution,
                Source.url,
                Source.last_success_at,
            ).order_by(Source.name)
        ).all()
        layers = conn.scalars(select(Feature.layer).distinct()).all()
        metrics = sorted(conn.scalars(select(Observation.metric).distinct()).all())
        n_districts = conn.scalar(select(func.count()).select_from(District)) or 0
    return _Store(list(srcs), sorted(set(layers)), metrics, n_districts, [licence(city_licence)], public_url)


def _sources_schema(store: _Store) -> dict:
    return {
        "fields": [
            _field(
                "name",
                "string",
                "Short id of the source in this city's configuration",
                True,
                constraints={"required": True, "unique": True},
            ),
            _field("kind", "string", "Connector kind that fetched it"),
            _field("title", "string", "Title"),
            _field("publisher", "string", "Who publishes the upstream data"),
            _field("licence", "string", "Upstream licence, as stated by the publisher"),
            _field("attribution", "string", "Attribution the publisher asks for"),
            _field("url", "string", "Upstream URL", format="uri")
            if all(s.url for s in store.sources)
            else _field("url", "string", "Upstream URL"),
            _field("last_success_at", "datetime", "Last successful refresh (UTC)"),
        ],
        "primaryKey": ["name"],
    }


def _sources_rows(engine: Engine, store: _Store) -> Iterable[list[object]]:
    return (
        [s.name, s.kind, s.title, s.publisher, s.licence, s.attribution, s.url, utc_iso(s.last_success_at)]
        for s in store.sources
    )


def _features_schema(store: _Store) -> dict:
    return {
        "fields": [
            _field(
                "id",
                "integer",
                "Feature id (as in the observations and the API)",
                constraints={"required": True, "unique": True},
            ),
            _field("source", "string", "Source name (see sources.csv)", True),
            _field("layer", "string", "Layer", True, constraints={"required": True, "enum": store.layers or ["none"]}),
            _field("external_id", "string", "Id at the upstream publisher", True),
            _field("name", "string", "Name"),
            _field(
                "lat",
                "number",
                "Latitude of a representative point (WGS 84, degrees)",
                True,
                constraints={"required": True, "minimum": -90, "maximum": 90},
            ),
            _field(
                "lon",
                "number",
                "Longitude of a representative point (WGS 84, degrees)",
                True,
                constraints={"required": True, "minimum": -180, "maximum": 180},
            ),
            _field("district_id", "integer", "District id (see districts.geojson)"),
        ],
        "primaryKey": ["id"],
        "foreignKeys": [{"fields": ["source"], "reference": {"resource": "sources", "fields": ["name"]}}],
    }


def _features_rows(engine: Engine, store: _Store) -> Iterable[list[object]]:
    sname = store.source_name
    fstmt = select(
        Feature.id,
        Feature.source_id,
        Feature.layer,
        Feature.external_id,
        Feature.name,
        Feature.lat,
        Feature.lon,
        Feature.district_id,
    )
    return (
        [r.id, sname[r.source_id], r.layer, r.external_id, r.name, r.lat, r.lon, r.district_id]
        for r in _chunked(engine, fstmt, Feature.id)
    )


def _observations_schema(store: _Store) -> dict:
    units = "; ".join(f"{m}: {METRICS[m]}" for m in store.metrics if m in METRICS)
    return {
        "fields": [
            _field("feature_id", "integer", "Feature measured (see features.csv)", True),
            _field("time", "datetime", "Start of the measurement interval (UTC)", True),
            _field(
                "metric",
                "string",
                "What was measured",
                True,
                constraints={"required": True, "enum": store.metrics or ["none"]},
            ),
            _field("value", "number", f"Measured value, in the row's unit ({units})", True),
            _field("unit", "string", "Unit of value", True),
        ],
        "primaryKey": ["feature_id", "metric", "time"],
        "foreignKeys": [{"fields": ["feature_id"], "reference": {"resource": "features", "fields": ["id"]}}],
    }


def _observations_rows(engine: Engine, store: _Store) -> Iterable[list[object]]:
    ostmt = select(
        Observation.id,
        Observation.feature_id,
        Observation.time,
        Observation.metric,
        Observation.value,
        Observation.unit,
    )
    return ([r.feature_id, utc_iso(r.time), r.metric, r.value, r.unit] for r in _chunked(engine, ostmt, Observation.id))


def _comments_schema(store: _Store) -> dict:
    return {
        "fields": [
            _field(
                "id",
                "integer",
                "Comment id (as in Open311 service_request_id)",
                constraints={"required": True, "unique": True},
            ),
            _field("created_at", "datetime", "When it was written (UTC)", True),
            _field("updated_at", "datetime", "Last change (UTC)", True),
            _field("category", "string", "Category chosen by the citizen", True),
            _field(
                "status",
                "string",
                "Workflow status",
                True,
                constraints={"required": True, "enum": list(COMMENT_STATUSES)},
            ),
            _field("closed_reason", "string", "Why it was closed, when closed"),
            _field("text", "string", "The comment as published (personal data redacted)", True),
            _field(
                "public_lat",
                "number",
                "Latitude of the H3 res-9 cell centre (about 170 m), never the exact spot",
                True,
            ),
            _field("public_lon", "number", "Longitude of the H3 res-9 cell centre", True),
            _field("h3_cell", "string", "H3 res-9 cell (hex index)", True),
            _field("district_id", "integer", "District id (see districts.geojson)"),
            _field("feature_id", "integer", "Feature the comment is about, if any (see features.csv)"),
            _field("supports", "integer", "People who supported it", constraints={"minimum": 0}),
            _field("first_response_at", "datetime", "First answer from the city (UTC)"),
            _field("resolved_at", "datetime", "When it was resolved or closed (UTC)"),
        ],
        "primaryKey": ["id"],
        "foreignKeys": [{"fields": ["feature_id"], "reference": {"resource": "features", "fields": ["id"]}}],
    }


def _comments_rows(engine: Engine, store: _Store) -> Iterable[list[object]]:
    cstmt = select(
        Comment.id,
        Comment.created_at,
        Comment.updated_at,
        Comment.category,
        Comment.status,
        Comment.closed_reason,
        Comment.text,
        Comment.public_lat,
        Comment.public_lon,
        Comment.h3_r9,
        Comment.district_id,
        Comment.feature_id,
        Comment.support_count,
        Comment.first_response_at,
        Comment.resolved_at,
    ).where(Comment.moderation == "published")
    return (
        [
            r.id,
            utc_iso(r.created_at),
            utc_iso(r.updated_at),
            r.category,
            r.status,
            r.closed_reason,
            r.text,
            r.public_lat,
            r.public_lon,
            h3.int_to_str(r.h3_r9) if r.h3_r9 else "",
            r.district_id,
            r.feature_id,
            r.support_count,
            utc_iso(r.first_response_at),
            utc_iso(r.resolved_at),
        ]
        for r in _chunked(engine, cstmt, Comment.id)
    )


def _photos_schema(store: _Store) -> dict:
    return {
        "fields": [
            _field("comment_id", "integer", "Comment (see comments.csv)", True),
            _field("position", "integer", "Order among the comment's photos", True, constraints={"minimum": 0}),
            _field("url", "string", "Public address of the photo (JPEG, no metadata)", True),
            _field("thumbnail_url", "string", "Public address of its 400-px thumbnail", True),
            _field("width", "integer", "Width in pixels", True),
            _field("height", "integer", "Height in pixels", True),
        ],
        "foreignKeys": [{"fields": ["comment_id"], "reference": {"resource": "comments", "fields": ["id"]}}],
    }


def _photos_rows(engine: Engine, store: _Store) -> Iterable[list[object]]:
    """Photos as their public addresses (the files stay on the city's server; hidden ones are left out)."""
    pstmt = (
        select(Photo.id, Photo.comment_id, Photo.position, Photo.width, Photo.height)
        .join(Comment, Comment.id == Photo.comment_id)
        .where(Comment.moderation == "published", Photo.state == "attached", Photo.event_id.is_(None))
        .order_by(Photo.comment_id, Photo.position, Photo.id)
    )
    with engine.connect() as conn:
        prows = conn.execute(pstmt).all()
    base = store.public_url.rstrip("/")
    return (
        [r.comment_id, r.position, f"{base}/media/{r.id}.jpg", f"{base}/media/{r.id}.thumb.jpg", r.width, r.height]
        for r in prows
    )


def _events_schema(store: _Store) -> dict:
    return {
        "fields": [
            _field("id", "integer", "Event id", constraints={"required": True, "unique": True}),
            _field("comment_id", "integer", "Comment (see comments.csv)", True),
            _field("created_at", "datetime", "When (UTC)", True),
            _field(
                "kind",
                "string",
                "status or answer",
                True,
                constraints={"required": True, "enum": list(PUBLIC_EVENT_KINDS)},
            ),
            _field("from_status", "string", "Status before", constraints={"enum": list(COMMENT_STATUSES)}),
            _field("to_status", "string", "Status after", constraints={"enum": list(COMMENT_STATUSES)}),
            _field("public_text", "string", "The city's public answer"),
        ],
        "primaryKey": ["id"],
        "foreignKeys": [{"fields": ["comment_id"], "reference": {"resource": "comments", "fields": ["id"]}}],
    }


def _events_rows(engine: Engine, store: _Store) -> Iterable[list[object]]:
    estmt = (
        select(
            CommentEvent.id,
            CommentEvent.comment_id,
            CommentEvent.created_at,
            CommentEvent.kind,
            CommentEvent.from_status,
            CommentEvent.to_status,
            CommentEvent.public_text,
        )
        .join(Comment, Comment.id == CommentEvent.comment_id)
        .where(Comment.moderation == "published", CommentEvent.kind.in_(PUBLIC_EVENT_KINDS))
    )
    return (
        [r.id, r.comment_id, utc_iso(r.created_at), r.kind, r.from_status, r.to_status, r.public_text]
        for r in _chunked(engine, estmt, CommentEvent.id)
    )


# The CSV resources, in the package's order.
CSV_RESOURCES = (
    CsvResource(
        "sources",
        "Sources and their provenance",
        "One row per upstream source, with its licence and attribution.",
        _sources_schema,
        _sources_rows,
        city_licensed=False,
    ),
    CsvResource(
        "features",
        "Features (stations, counters, routes...)",
        "Every feature with a representative point; full geometries are in the per-layer GeoJSON resources.",
        _features_schema,
        _features_rows,
        city_licensed=False,
    ),
    CsvResource(
        "observations",
        "Observations (time series)",
        "Long format: one row per feature, metric and time.",
        _observations_schema,
        _observations_rows,
        city_licensed=False,
    ),
    CsvResource(
        "comments",
        "Citizens' comments (published)",
        "Published comments only, located at their H3 cell centre; no author data.",
        _comments_schema,
        _comments_rows,
        city_licensed=True,
    ),
    CsvResource(
        "comment_photos",
        "Photos on published comments",
        "Addresses of the published photos, not the files; relative to the dashboard's "
        "address unless the export was given --public-url.",
        _photos_schema,
        _photos_rows,
        city_licensed=True,
    ),
    CsvResource(
        "comment_events",
        "What the city did: status changes and answers",
        "Public history of every published comment.",
        _events_schema,
        _events_rows,
        city_licensed=True,
    ),
)


def _layer_collection(engine: Engine, store: _Store, layer: str) -> tuple[dict, list[dict]]:
    """One layer's full geometries as a FeatureCollection, and the licences of the sources it comes from."""
    sname, source_licence = store.source_name, store.source_licence
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                Feature.id,
                Feature.source_id,
                Feature.external_id,
                Feature.name,
                Feature.geometry,
                Feature.properties,
            )
            .where(Feature.layer == layer)
            .order_by(Feature.id)
        ).all()
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": r.id,
                "geometry": json.loads(r.geometry),
                "properties": {
                    **(r.properties or {}),
                    "name": r.name,
                    "external_id": r.external_id,
                    "source": sname[r.source_id],
                },
            }
            for r in rows
        ],
    }
    lic = list(
        {json.dumps(source_licence[s], sort_keys=True): source_licence[s] for s in {r.source_id for r in rows}}.values()
    )
    return fc, lic or store.own


def _district_collection(engine: Engine) -> dict:
    with engine.connect() as conn:
        drows = conn.execute(
            select(
                District.id, District.name, District.code, District.population, District.area_km2, District.geometry
            ).order_by(District.id)
        ).all()
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": d.id,
                "geometry": json.loads(d.geometry),
                "properties": {
                    "name": d.name,
                    "code": d.code,
                    "population": d.population,
                    "area_km2": d.area_km2,
                },
            }
            for d in drows
        ],
    }


def _descriptor(city: CityConfig, store: _Store, resources: list[dict]) -> dict:
    """``datapackage.json``: the package's licences, sources and contributors around its resources."""
    srcs = store.sources
    all_source_licences = list({json.dumps(v, sort_keys=True): v for v in store.source_licence.values()}.values())
    return {
        "profile": "data-package",
        "name": re.sub(r"[^a-z0-9._\-]", "-", f"{city.city.slug}-open-data"),
        "title": f"{city.city.name}: open data and citizens' comments",
        "description": "Exported by citydash. Indicators keep their upstream licences (per resource); comments are "
        "published as the public sees them, located at H3 res-9 cell centres.",
        "created": utc_iso(utcnow()),
        "licenses": list({json.dumps(x, sort_keys=True): x for x in store.own + all_source_licences}.values()),
        "sources": [{"title": s.title or s.name, **({"path": s.url} if s.url else {})} for s in srcs]
        or [{"title": city.city.name}],
        "contributors": [{"title": city.city.name, "role": "publisher"}]
        + [{"title": p, "role": "author"} for p in sorted({s.publisher for s in srcs if s.publisher})],
        "keywords": ["open data", "citizens", "open311", city.city.slug],
        "resources": resources,
    }


def export_datapackage(
    engine: Engine, city: CityConfig, out_dir: str | Path, city_licence: str = "CC-BY-4.0", public_url: str = ""
) -> dict:
    """Write the package into ``out_dir``; returns {resource name: rows or features}. ``city_licence`` covers
    what the city itself publishes (comments, their history, districts). The CSV resources are the rows of
    ``CSV_RESOURCES``; then one GeoJSON resource per layer, and the districts."""
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    w = _Writer(root)
    counts: dict[str, int] = {}
    store = _read_store(engine, city_licence, public_url)
    for res in CSV_RESOURCES:
        lics = store.own if res.city_licensed else store.source_licences
        counts[res.name] = w.csv(res.name, res.title, res.schema(store), res.rows(engine, store), lics, res.description)
    for layer in store.layers:
        fc, lics = _layer_collection(engine, store, layer)
        w.geojson(
            f"layer-{layer.replace('_', '-')}",
            LAYERS.get(layer, layer),
            fc,
            lics,
            f"Layer {layer}: full geometries (WGS 84), one feature per row of features.csv with this layer.",
        )
        counts[f"layer-{layer}"] = len(fc["features"])
    if store.n_districts:
        districts = _district_collection(engine)
        w.geojson(
            "districts", "Districts", districts, store.own, "District boundaries used to group comments and features."
        )
        counts["districts"] = len(districts["features"])
    package = _descriptor(city, store, w.resources)
    (root / "datapackage.json").write_text(json.dumps(package, ensure_ascii=False, indent=2), encoding="utf-8")
    return counts
