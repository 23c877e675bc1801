"""`citydash export --datapackage DIR`: a Frictionless Data Package that `frictionless validate` accepts, with
licences, sources, contributors, typed Table Schemas, GeoJSON, and comments only as the public sees them."""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from data_sources.comments.records import CommentInput, submit_comment
from data_sources.exchange.datapackage import export_datapackage, licence
from data_sources.store.models import Comment, Observation

frictionless = pytest.importorskip("frictionless")


@pytest.fixture(scope="module")
def demo_engine(demo_store_file, tmp_path_factory):
    """One private copy of the demo store for this module (exporting and validating it takes seconds)."""
    import shutil

    from data_sources.store.db import make_engine

    dst = tmp_path_factory.mktemp("dp") / "demo.sqlite"
    shutil.copy(demo_store_file, dst)
    eng = make_engine(f"sqlite:///{dst}")
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def package(demo_engine, demo_city, tmp_path_factory):
    # One comment with personal data and one held for review: neither the email, the original text nor the
    # held comment may leave the store.
    submit_comment(
        demo_engine,
        demo_city,
        CommentInput(
            lat=48.5012,
            lon=9.0011,
            category="noise",
            email="me@example.org",
            text="Loud bar, ring me on +49 151 23456789 please",
        ),
    )
    submit_comment(
        demo_engine, demo_city, CommentInput(lat=48.5, lon=9.0, category="noise", text="This idiot neighbour again")
    )
    out = tmp_path_factory.mktemp("dp") / "pkg"
    counts = export_datapackage(demo_engine, demo_city, out)
    return out, counts


@pytest.fixture
def small_package(engine, demo_city, tmp_path):
    submit_comment(engine, demo_city, CommentInput(lat=48.5, lon=9.0, category="noise", text="Loud music every night"))
    export_datapackage(engine, demo_city, tmp_path / "small")
    return tmp_path / "small"


def test_frictionless_validates_the_package(package):
    out, _ = package
    report = frictionless.validate(str(out / "datapackage.json"))
    assert report.valid, report.flatten(["resourceName", "type", "note"])[:10]


def test_validation_catches_a_broken_resource(small_package):
    """The check above can fail: a value outside its schema makes the package invalid."""
    dp = small_package / "datapackage.json"
    assert frictionless.validate(str(dp)).valid
    path = small_package / "comments.csv"
    path.write_text(path.read_text().replace(",new,", ",pending,"))
    report = frictionless.validate(str(dp))
    assert not report.valid
    assert "constraint-error" in [t for (t,) in report.flatten(["type"])]  # the status enum, not only the hash


def test_metadata_licences_sources_contributors_and_schemas(package, demo_city):
    out, counts = package
    dp = json.loads((out / "datapackage.json").read_text())
    assert dp["name"] == "demo-open-data" and dp["licenses"][0]["name"] == "CC-BY-4.0"
    assert any(lic["name"] == "CC0-1.0" for lic in dp["licenses"])  # the demo sources' own licence
    assert {s["title"] for s in dp["sources"]} >= {"Air quality (demo)"}
    assert dp["contributors"][0] == {"title": demo_city.city.name, "role": "publisher"}
    res = {r["name"]: r for r in dp["resources"]}
    assert {
        "sources",
        "features",
        "observations",
        "comments",
        "comment_events",
        "districts",
        "layer-air-station",
        "layer-cycle-route",
    } <= set(res)
    obs = res["observations"]["schema"]
    types = {f["name"]: f["type"] for f in obs["fields"]}
    assert types == {
        "feature_id": "integer",
        "time": "datetime",
        "metric": "string",
        "value": "number",
        "unit": "string",
    }
    assert (
        all(f["description"] for f in obs["fields"])
        and "µg/m³" in next(f for f in obs["fields"] if f["name"] == "value")["description"]
    )
    assert obs["primaryKey"] == ["feature_id", "metric", "time"]
    assert res["layer-air-station"]["mediatype"] == "application/geo+json"
    assert all(r["hash"].startswith("sha256:") and r["bytes"] > 0 for r in dp["resources"])


def test_rows_match_the_store(package, demo_engine):
    out, counts = package
    with demo_engine.connect() as conn:
        n_obs = conn.scalar(select(func.count()).select_from(Observation))
        n_pub = conn.scalar(select(func.count()).select_from(Comment).where(Comment.moderation == "published"))
    assert counts["observations"] == n_obs and counts["comments"] == n_pub
    with (out / "observations.csv").open() as fh:
        assert sum(1 for _ in fh) == n_obs + 1
    gj = json.loads((out / "layer-air-station.geojson").read_text())
    assert gj["type"] == "FeatureCollection" and len(gj["features"]) == 40
    lon, lat = gj["features"][0]["geometry"]["coordinates"]
    assert 48 < lat < 49 and 8 < lon < 10  # RFC 7946 order


def test_comments_are_exported_as_the_public_sees_them(package, demo_engine):
    out, _ = package
    with (out / "comments.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert "email" not in rows[0] and "original_text" not in rows[0] and "lat" not in rows[0]
    text = (out / "comments.csv").read_text()
    assert "me@example.org" not in text and "23456789" not in text and "idiot" not in text
    mine = rows[-1]
    assert "[phone removed]" in mine["text"]
    with demo_engine.connect() as conn:
        exact = conn.execute(
            select(Comment.lat, Comment.lon, Comment.public_lat, Comment.public_lon).where(
                Comment.id == int(mine["id"])
            )
        ).one()
    assert (float(mine["public_lat"]), float(mine["public_lon"])) == (exact.public_lat, exact.public_lon)
    assert float(mine["public_lat"]) != exact.lat


def test_licence_objects_from_free_text():
    assert licence("CC0-1.0 (synthetic demo data)") == {"name": "CC0-1.0", "title": "CC0-1.0 (synthetic demo data)"}
    assert licence("ODbL-1.0") == {"name": "ODbL-1.0", "title": "ODbL-1.0"}
    assert licence("Open Government Licence v3.0") == {"name": "notspecified", "title": "Open Government Licence v3.0"}
    assert licence("")["name"] == "notspecified"


def test_cli_export(tmp_path, sqlite_url, engine, demo_city):
    from dashboard.cli import cli

    submit_comment(engine, demo_city, CommentInput(lat=48.5, lon=9.0, category="noise", text="Loud music every night"))
    env = {"CITYDASH_DATABASE_URL": sqlite_url, "CITYDASH_DATA_DIR": str(tmp_path)}
    r = CliRunner().invoke(cli, ["export", "--datapackage", str(tmp_path / "out"), "--licence", "ODbL-1.0"], env=env)
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["comments"] == 1
    dp = json.loads((tmp_path / "out" / "datapackage.json").read_text())
    assert dp["licenses"][0]["name"] == "ODbL-1.0"


def test_export_from_postgresql_too(any_engine, demo_city, tmp_path):
    submit_comment(
        any_engine, demo_city, CommentInput(lat=48.5, lon=9.0, category="noise", text="Loud music every night")
    )
    counts = export_datapackage(any_engine, demo_city, tmp_path / "pkg")
    assert counts["comments"] == 1
    assert frictionless.validate(str(tmp_path / "pkg" / "datapackage.json")).valid
