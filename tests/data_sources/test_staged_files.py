"""Imports are sources (issue 21, item 5) and every kind reads staged local files (issue 21, "Local files")."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from data_sources.config import CityConfig
from data_sources.store.models import Feature, RefreshRun, Source
from data_sources.refresh import import_file, refresh
from tests.support import realdata


def _city(sources: str, path: Path | None = None) -> CityConfig:
    raw = tomllib.loads('[city]\nname = "T"\nslug = "t"\ncentre = [41.88, -87.63]\n' + sources)
    return CityConfig.model_validate({**raw, "path": path})


def _count(engine, source: str) -> int:
    with engine.connect() as conn:
        sid = conn.scalar(select(Source.id).where(Source.name == source))
        return len(conn.execute(select(Feature.id).where(Feature.source_id == sid)).all())


def test_an_import_into_a_configured_source_is_its_success_and_healthz_says_so(tmp_path, monkeypatch):
    from dashboard.app import create_app
    from data_sources.config import Settings
    from data_sources.store.db import open_store

    divvy = realdata("gbfs", "chicago_divvy_v2.3")
    toml = tmp_path / "chicago.toml"
    toml.write_text(
        '[city]\nname = "Chicago"\nslug = "chicago"\ncentre = [41.88, -87.63]\n\n'
        '[[sources]]\nname = "divvy"\nkind = "gbfs"\ntitle = "Divvy"\nrefresh = "1d"\n'
        '[sources.params]\nurl = "https://gbfs.lyft.com/gbfs/2.3/chi/gbfs.json"\nlicence = "Divvy Data License Agreement"\n',
        encoding="utf-8",
    )
    engine = open_store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    from data_sources.config import load_city

    city = load_city(toml)
    out = import_file(engine, "gbfs", str(divvy / "gbfs.json"), source=city.source("divvy"))
    assert out["features"] == 1811 and out["observations"] > 0
    with engine.connect() as conn:
        src = conn.execute(select(Source).where(Source.name == "divvy")).one()
        run = conn.execute(select(RefreshRun).where(RefreshRun.source_id == src.id)).one()
    assert src.last_success_at is not None and src.last_error is None
    assert run.error is None and run.features_added == 1811 and run.finished_at is not None
    app = create_app(city=city, settings=Settings.from_env({"CITYDASH_DATA_DIR": str(tmp_path)}), engine=engine)
    body = app.server.test_client().get("/healthz").get_json()
    divvy_status = next(s for s in body["sources"] if s["name"] == "divvy")
    assert divvy_status["failing"] is False and divvy_status["stale"] is False


def test_an_import_without_source_never_overwrites_another_sources_features(engine, tmp_path):
    a, b = tmp_path / "routes.geojson", tmp_path / "more" / "routes.geojson"
    b.parent.mkdir()
    line = '{"type":"Feature","properties":{"id":"1","name":"%s"},"geometry":{"type":"LineString","coordinates":[[0,0],[0.01,0.01]]}}'
    a.write_text('{"type":"FeatureCollection","features":[%s]}' % (line % "A"))
    b.write_text('{"type":"FeatureCollection","features":[%s]}' % (line % "B"))
    first = import_file(engine, "vector_file", str(a), configured=["cycling"])
    assert first["source"] == "routes" and first["created"] and "created source 'routes'" in first["note"]
    # the same file name of another kind, and a name the city's TOML uses, get the kind appended
    again = import_file(engine, "vector_file", str(b))
    assert again["source"] == "routes" and not again["created"] and "reused" in again["note"]
    other = import_file(
        engine,
        "csv",
        str(_csv(tmp_path / "routes.csv")),
        params={"id_field": "id", "lat_field": "lat", "lon_field": "lon"},
    )
    assert other["source"] == "routes-csv"
    taken = import_file(engine, "vector_file", str(_geo(tmp_path / "cycling.geojson")), configured=["cycling"])
    assert taken["source"] == "cycling-vector_file"
    assert (
        _count(engine, "routes") == 1
        and _count(engine, "routes-csv") == 1
        and _count(engine, "cycling-vector_file") == 1
    )


def _csv(p: Path) -> Path:
    p.write_text("id,lat,lon\nx,1,1\n")
    return p


def _geo(p: Path) -> Path:
    p.write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"9"},'
        '"geometry":{"type":"Point","coordinates":[1,1]}}]}'
    )
    return p


@pytest.mark.parametrize("name", ["bloomington_in_services_2012-05-23.json", "san_francisco_services_2012-05.xml"])
def test_import_open311_refuses_a_services_list_and_says_what_to_give(name, tmp_path, monkeypatch):
    from dashboard.cli import cli

    monkeypatch.setenv("CITYDASH_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CITYDASH_DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    out = CliRunner().invoke(cli, ["import", "open311", str(realdata("open311", name))])
    assert out.exit_code != 0
    assert "this is an Open311 services list" in out.output and "requests.json" in out.output


# --- local files: every kind through [[sources]] -------------------------------------------------------------


def test_gbfs_reads_a_saved_feed_through_sources_by_path_folder_or_file_url(engine):
    folder = realdata("gbfs", "chicago_divvy_v2.3")
    for url in (str(folder / "gbfs.json"), str(folder), (folder / "gbfs.json").as_uri()):
        city = _city(f'[[sources]]\nname = "divvy"\nkind = "gbfs"\n[sources.params]\nurl = "{url}"\n')
        report = refresh(engine, city, session=None)
        assert report.ok, report.runs[0].error
    assert _count(engine, "divvy") == 1811


def test_a_station_information_file_given_as_gbfs_json_is_named_as_what_it_is(engine):
    info = realdata("gbfs", "mexico_city_ecobici_station_information_2023-08-09.json")
    city = _city(f'[[sources]]\nname = "ecobici"\nkind = "gbfs"\n[sources.params]\nfile = "{info}"\n')
    report = refresh(engine, city, session=None)
    assert report.ok and _count(engine, "ecobici") > 0


def test_relative_paths_are_read_from_the_tomls_folder(engine, tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "points.csv").write_text("id,lat,lon\na,41.88,-87.63\n")
    city = _city(
        '[[sources]]\nname = "points"\nkind = "csv"\n[sources.params]\nurl = "data/points.csv"\n'
        'id_field = "id"\nlat_field = "lat"\nlon_field = "lon"\n',
        tmp_path / "t.toml",
    )
    assert refresh(engine, city, session=None).ok and _count(engine, "points") == 1


@pytest.mark.parametrize(
    ("kind", "relative"),
    [
        ("52north", "52north_timeseries/nl_rivm_inspire_eaq_stations_2016-02.json"),
        ("openaq", "openaq/v3_locations_2178_albuquerque_delnorte.json"),
        ("sensor_community", "sensor_community/archive_2018-07-08_sds011_sensor_15092_aberdeen.csv"),
        ("vector_file", "cycling_routes/charlotte_osm_overpass_cycle_network_excerpt.geojson"),
    ],
)
def test_other_kinds_read_a_staged_file_as_import_does(engine, kind, relative):
    path = realdata(*relative.split("/"))
    city = _city(f'[[sources]]\nname = "staged"\nkind = "{kind}"\n[sources.params]\nfile = "{path.as_uri()}"\n')
    run = refresh(engine, city, session=None).runs[0]
    assert run.ok, run.error
    assert _count(engine, "staged") > 0


def test_a_missing_staged_file_is_a_one_line_failure(engine, tmp_path):
    city = _city(f'[[sources]]\nname = "gone"\nkind = "csv"\n[sources.params]\nfile = "{tmp_path}/nope.csv"\n')
    run = refresh(engine, city, session=None).runs[0]
    assert run.error == f"gone: {tmp_path}/nope.csv: file not found"
    assert json.dumps(run.as_dict())
